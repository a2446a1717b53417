// The status page: server-rendered HTML, readable on a phone, and what every page shares (style,
// script, times in engine.timezone). Its one script sends a manager's acknowledgements and
// silences (with the header that shows the request comes from this page).
#include <cstdio>
#include <string_view>
#include <map>
#include <sstream>

#include <openssl/evp.h>

#include "config/as_of.h"
#include "integrations/html.h"
#include "web/http_api.h"
#include "web/pages.h"

namespace casewatch {
namespace {

const char* const kPageStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:1rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.meta{color:#555;font-size:.9rem}
.summary{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}
.tile{padding:.5rem .75rem;border-radius:.4rem;background:#fff;border:1px solid #ddd;min-width:6rem}
.tile b{display:block;font-size:1.4rem}
.critical{border-left:.4rem solid #b3261e}.warning{border-left:.4rem solid #e8a317}.info{border-left:.4rem solid #1f6feb}
.ok{color:#1a7f37}.err{color:#b3261e;font-weight:600}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f0f0f0}
td.date{white-space:nowrap}
.sev{display:inline-block;padding:.05rem .4rem;border-radius:.3rem;color:#fff;font-size:.8rem}
.sev.critical{background:#b3261e;border:0}.sev.warning{background:#9a6700;border:0}.sev.info{background:#1f6feb;border:0}
details{margin:.5rem 0;background:#fff;border:1px solid #ddd;border-radius:.4rem;padding:.25rem .5rem}
summary{cursor:pointer;font-weight:600;padding:.25rem 0}
button.ack,button.silence{font-size:.8rem;padding:.15rem .5rem}tr.acked{opacity:.6}
.kpis{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}
.kpi{padding:.5rem .75rem;border-radius:.4rem;background:#fff;border:1px solid #ddd;min-width:11rem}
.kpi .name{font-size:.85rem;color:#444}.kpi b{display:block;font-size:1.3rem}
.kpi.alerting{border-left:.4rem solid #e8a317}.spark{display:block;margin:.2rem 0}
.overdue{color:#b3261e;font-weight:600}.today{color:#9a6700;font-weight:600}
nav.teams a{margin-right:.6rem}
h3{font-size:1rem;margin:1rem 0 .25rem}
.silenced-all{background:#b3261e;color:#fff;padding:.6rem .8rem;border-radius:.4rem;font-weight:600}
)";

// The page's one script: a manager's acknowledgements and silences, with the header that shows
// the request comes from this page (CSRF). The buttons carry no handler of their own: the policy
// runs only this script, by its hash.
const char* const kPageScript = R"(
async function act(button, url, body, done) {
  button.disabled = true;
  let text;
  try {
    const response = await fetch(url, {
      method: 'POST', headers: {'Content-Type': 'application/json', 'X-Casewatch-Request': '1'},
      body: JSON.stringify(body)});
    text = response.ok ? done : 'failed (' + response.status + ')';
    if (response.ok) button.closest('tr').classList.add('acked');
    else button.disabled = false;
  } catch (e) {
    text = 'failed (no answer)';
    button.disabled = false;
  }
  button.textContent = text;
}
document.addEventListener('click', (event) => {
  const button = event.target.closest('button.ack, button.silence');
  if (!button) return;
  if (button.classList.contains('ack')) {
    act(button, '/api/v1/alerts/' + button.dataset.fingerprint + '/ack',
        {comment: 'acknowledged on the status page'}, 'acknowledged');
    return;
  }
  // Seven days from casewatch's own clock (the page says when it was made), not the browser's.
  const clock = Number(document.body.dataset.clock) * 1000 || Date.now();
  const ends = new Date(clock + 7 * 86400 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  act(button, '/api/v1/silences',
      {matchers: {alertname: button.dataset.rule, key: button.dataset.key}, ends_at: ends,
       comment: 'silenced for 7 days on the team page'}, 'silenced for 7 days');
});
)";
}  // namespace


namespace {

// 'sha256-BASE64' of a script's or style's text, as a Content-Security-Policy source.
std::string csp_hash(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int size = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(encoded), static_cast<size_t>(size)) + "'";
}

}  // namespace

const std::string& page_security_policy() {
  static const std::string policy = "default-src 'none'; script-src " + csp_hash(kPageScript) + "; style-src " +
                                    csp_hash(kPageStyle) +
                                    "; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; "
                                    "frame-ancestors 'none'";
  return policy;
}

std::string page_head(const ServiceSnapshot& s, const std::string& title, bool can_act) {
  std::string out = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
                    html_escape(title) + "</title><style>" + kPageStyle + "</style>";
  if (can_act) out += std::string("<script>") + kPageScript + "</script>";
  out += "</head><body data-clock=\"" + std::to_string(s.evaluated_at) + "\">";
  // Nothing is notified while it lasts: no page may look as if all were well.
  for (const Silence& silence : s.covering_everything)
    out += "<p class=\"silenced-all\" role=\"alert\">Every alert is silenced until " +
           html_escape(local_time(silence.ends_at, s.timezone)) + " by " + html_escape(silence.created_by) +
           (silence.comment.empty() ? std::string() : " (" + html_escape(silence.comment) + ")") +
           ": no notification is sent for any of them.</p>";
  return out;
}

std::string render_status_page(const ServiceSnapshot& s, bool can_acknowledge) {
  std::ostringstream html;
  size_t counts[3] = {0, 0, 0};
  std::map<std::string, std::vector<const Alert*>> by_rule;
  std::map<std::string, size_t> by_team;
  for (const Alert& a : *s.alerts) {
    ++counts[static_cast<int>(a.severity)];
    by_rule[a.rule].push_back(&a);
    const std::string_view team = a.labels.value_or_empty("team");
    ++by_team[team.empty() ? "(no team)" : std::string(team)];
  }
  html << page_head(s, "casewatch", can_acknowledge);
  html << "<h1>casewatch</h1><div class=\"meta\">"
       << (s.ready ? "Last evaluation " + local_time(s.evaluated_at, s.timezone) : std::string("Waiting for the first evaluation"))
       << " &middot; times in " << html_escape(s.timezone) << "</div>";
  html << team_links(s, "");
  if (!s.state_error.empty())
    html << "<p class=\"err\" id=\"state-error\">State writes are failing: " << html_escape(s.state_error)
         << ". Alerts may fire again, or be lost, at the next restart.</p>";
  html << "<div class=\"summary\">"
       << "<div class=\"tile critical\"><b id=\"count-critical\">" << counts[2] << "</b>critical</div>"
       << "<div class=\"tile warning\"><b id=\"count-warning\">" << counts[1] << "</b>warning</div>"
       << "<div class=\"tile info\"><b id=\"count-info\">" << counts[0] << "</b>info</div></div>";

  html << "<h2>Alerts by team</h2><div class=\"table-wrap\"><table><tr><th>Team</th><th>Alerts</th></tr>";
  for (const auto& [team, n] : by_team) html << "<tr><td>" << html_escape(team) << "</td><td>" << n << "</td></tr>";
  if (by_team.empty()) html << "<tr><td colspan=\"2\">No alerts.</td></tr>";
  html << "</table></div>";

  html << "<h2>Alerts by rule</h2>";
  for (const auto& [rule, alerts] : by_rule) {
    size_t critical = 0;
    for (const Alert* a : alerts) critical += a->severity == Severity::Critical;
    html << "<details" << (critical ? " open" : "") << " id=\"rule-" << html_escape(rule) << "\"><summary>" << html_escape(rule) << " ("
         << alerts.size() << (critical ? ", " + std::to_string(critical) + " critical" : "") << ")</summary>"
         << "<div class=\"table-wrap\"><table><tr><th>Severity</th><th>Key</th><th>Team</th><th>Due</th><th>State</th><th>Summary</th>"
         << (can_acknowledge ? "<th></th>" : "") << "</tr>";
    for (const Alert* a : alerts) {
      std::string severity(severity_name(a->severity));
      html << "<tr><td><span class=\"sev " << severity << "\">" << severity << "</span></td><td><a href=\"/alerts/" << html_escape(a->fingerprint) << "\">"
           << html_escape(a->key) << "</a></td><td>" << html_escape(a->labels.value_or_empty("team")) << "</td><td class=\"date\">"
           << (a->due_date == kNullDay ? "" : format_iso(a->due_date)) << "</td><td>" << alert_state_name(a->state)
           << (a->rejected_since ? " (held: its latest row was rejected)" : "") << "</td><td>" << html_escape(a->annotations.value_or_empty("summary")) << "</td>";
      if (can_acknowledge) {
        bool silenced = s.silenced.count(a->fingerprint) > 0;
        html << "<td>" << (silenced ? std::string("silenced")
                                    : "<button class=\"ack\" data-fingerprint=\"" + html_escape(a->fingerprint) +
                                          "\">Acknowledge</button>")
             << "</td>";
      }
      html << "</tr>";
    }
    html << "</table></div></details>";
  }
  if (by_rule.empty()) html << "<p>No alerts.</p>";

  html << "<h2>Feeds</h2><div class=\"table-wrap\"><table><tr><th>Feed</th><th>Status</th><th>Records</th><th>Rejected</th><th>Last success</th></tr>";
  for (const FeedStatus& f : s.feeds)
    html << "<tr><td>" << html_escape(f.name) << "</td><td class=\"" << (f.up ? "ok\">up" : "err\">" + std::string(f.stale ? "stale" : "down"))
         << (f.last_error.empty() ? "" : ": " + html_escape(f.last_error)) << "</td><td>" << f.records << "</td><td>"
         << f.rejected_last << "</td><td>" << local_time(f.last_success, s.timezone) << "</td></tr>";
  html << "</table></div>";

  html << "<h2>Rules</h2><div class=\"table-wrap\"><table><tr><th>Rule</th><th>Kind</th><th>Health</th><th>Matches</th><th>Duration</th></tr>";
  for (const RuleStatus& r : s.rules)
    html << "<tr><td>" << html_escape(r.name) << "</td><td>" << html_escape(r.kind) << "</td><td class=\""
         << (r.health == RuleHealth::Err ? "err" : "ok") << "\">" << rule_health_name(r.health)
         << (r.last_error.empty() ? "" : ": " + html_escape(r.last_error)) << "</td><td>" << r.matches << "</td><td>"
         << static_cast<int64_t>(r.duration_seconds * 1000000) / 1000.0 << " ms</td></tr>";
  html << "</table></div>";
  html << "<p class=\"meta\"><a href=\"/metrics\">metrics</a> &middot; <a href=\"/api/v1/alerts\">alerts API</a></p>";
  html << "</body></html>";
  return html.str();
}

}  // namespace casewatch
