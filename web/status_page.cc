// The status page: server-rendered HTML, readable on a phone, and what every page shares (style,
// script, times in engine.timezone). Its one script sends a manager's acknowledgements and
// silences (with the header that shows the request comes from this page).
#include <algorithm>
#include <cstdio>
#include <regex>
#include <set>
#include <string_view>
#include <map>
#include <sstream>

#include <openssl/evp.h>

#include "config/as_of.h"
#include "integrations/html.h"
#include "web/http_api.h"
#include "notify/receivers/common.h"
#include "web/pages.h"

namespace casewatch {
namespace {

const char* const kPageStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:1rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
a{color:#0b4fb3}a:visited{color:#5b2a8c}
a:focus-visible,button:focus-visible,summary:focus-visible{outline:3px solid #0b4fb3;outline-offset:2px}
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;border:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.meta{color:#555;font-size:.9rem}
.summary{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}
.tile{padding:.5rem .75rem;border-radius:.4rem;background:#fff;border:1px solid #ddd;min-width:6rem}
.tile b{display:block;font-size:1.4rem}
.critical{border-left:.4rem solid #b3261e}.warning{border-left:.4rem solid #e8a317}.info{border-left:.4rem solid #1f6feb}
.ok{color:#1a7f37}.err{color:#b3261e;font-weight:600}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f0f0f0}tbody th{background:#fff}
td.date{white-space:nowrap}
.sev{display:inline-block;padding:.05rem .4rem;border-radius:.3rem;color:#fff;font-size:.8rem}
.sev.critical{background:#b3261e;border:0}.sev.warning{background:#8a5c00;border:0}.sev.info{background:#0b5cd5;border:0}
details{margin:.5rem 0;background:#fff;border:1px solid #ddd;border-radius:.4rem;padding:.25rem .5rem}
summary{cursor:pointer;font-weight:600;padding:.25rem 0}
button.ack,button.silence{font-size:.85rem;padding:.3rem .6rem;margin:0 .3rem .2rem 0}
tr.acked,tr.acked th,tr.acked td{background:#eef3f8}
.action-message{display:block;color:#b3261e;font-weight:600}.action-message:empty{display:none}
.kpis{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}
.kpi{padding:.5rem .75rem;border-radius:.4rem;background:#fff;border:1px solid #ddd;min-width:11rem}
.kpi .name{font-size:.85rem;color:#444}.kpi b{display:block;font-size:1.3rem}
.kpi.alerting{border-left:.4rem solid #e8a317}.spark{display:block;margin:.2rem 0}
.overdue{color:#b3261e;font-weight:600}.today{color:#7d5400;font-weight:600}
nav.teams a{margin-right:.6rem}
h3{font-size:1rem;margin:1rem 0 .25rem}
.silenced-all{background:#b3261e;color:#fff;padding:.6rem .8rem;border-radius:.4rem;font-weight:600}
@media (max-width:600px){
body{padding:.6rem}
.summary{gap:.35rem;margin:.6rem 0}.tile{flex:1;min-width:0;padding:.3rem .5rem}.tile b{font-size:1.15rem}
table.cards{font-size:.85rem;line-height:1.3}
table.cards button.ack,table.cards button.silence{padding:.25rem .55rem;margin-bottom:0}
table.cards,table.cards tbody,table.cards tr{display:block;width:auto}
table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards tr{display:flex;flex-wrap:wrap;gap:.05rem .7rem;padding:.35rem .4rem;border-bottom:1px solid #ddd}
table.cards td,table.cards tbody th{display:block;padding:0;border:0;overflow-wrap:anywhere}
table.cards td:empty{display:none}
table.cards td[data-label]::before{content:attr(data-label);font-weight:600;color:#444;margin-right:.35rem}
table.cards tbody th,table.cards td.wide,table.cards td.actions{flex-basis:100%}
table.cards td.wide::before,table.cards td.timing::before{content:none}
}
)";

// The page's one script: a manager's acknowledgements and silences, with the header that shows
// the request comes from this page (CSRF). The buttons carry no handler of their own: the policy
// runs only this script, by its hash. A request that fails is said beside its button (in the
// row's role="status" element), and the button can be pressed again.
const char* const kPageScript = R"(
async function act(button, url, body, done, verb) {
  const message = button.closest('td').querySelector('.action-message');
  button.disabled = true;
  if (message) message.textContent = '';
  let failure;
  try {
    const response = await fetch(url, {
      method: 'POST', headers: {'Content-Type': 'application/json', 'X-Casewatch-Request': '1'},
      body: JSON.stringify(body)});
    if (response.ok) {
      button.textContent = done;
      button.closest('tr').classList.add('acked');
      return;
    }
    let detail = '';
    try { detail = (await response.json()).error || ''; } catch (e) {}
    failure = response.status + (response.statusText ? ' ' + response.statusText : '') + (detail ? ' (' + detail + ')' : '');
  } catch (e) {
    failure = 'casewatch did not answer';
  }
  button.disabled = false;
  if (message) message.textContent = 'Could not ' + verb + ': ' + failure;
}
document.addEventListener('click', (event) => {
  const button = event.target.closest('button.ack, button.silence');
  if (!button) return;
  if (button.classList.contains('ack')) {
    act(button, '/api/v1/alerts/' + encodeURIComponent(button.dataset.fingerprint) + '/ack',
        {comment: 'acknowledged on ' + location.pathname}, 'acknowledged', 'acknowledge');
    return;
  }
  // Seven days from casewatch's own clock (the page says when it was made), not the browser's.
  const clock = Number(document.body.dataset.clock) * 1000 || Date.now();
  const ends = new Date(clock + 7 * 86400 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  act(button, '/api/v1/silences',
      {matchers: {alertname: button.dataset.rule, key: button.dataset.key}, ends_at: ends,
       comment: 'silenced for 7 days on ' + location.pathname}, 'silenced for 7 days', 'silence');
});
)";

// The pages' icon: a "c" on casewatch's blue.
const char* const kIcon =
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'><rect width='32' height='32' rx='7' fill='#0b4fb3'/>"
    "<path d='M22 11.5a7.5 7.5 0 1 0 0 9' fill='none' stroke='#fff' stroke-width='4' stroke-linecap='round'/></svg>";

std::string icon_data_url() {
  std::string out = "data:image/svg+xml,";
  for (char c : std::string_view(kIcon)) {
    if (c == '#' || c == '<' || c == '>' || c == '"' || c == '%') {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

// "1 alert", "2 alerts".
std::string count_of(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

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

const std::string& page_icon_svg() {
  static const std::string icon = kIcon;
  return icon;
}

std::string plain_description(const std::string& description, const Config* config) {
  // One line; a sentence that points into the configuration ("The floor is in [tables.kpi_floor].")
  // or quotes an expression (`...`) is for whoever keeps the rules, not for the page's reader.
  std::string text;
  for (char c : description) {
    const bool space = c == '\n' || c == '\t' || c == ' ';
    if (space && (text.empty() || text.back() == ' ')) continue;
    text += space ? ' ' : c;
  }
  static const std::regex config_reference(R"(\[[A-Za-z0-9_.\-]+\]|`)");
  static const std::regex identifier(R"(\b[a-z][a-z0-9]*(_[a-z0-9]+)+\b)");
  std::string out;
  size_t from = 0;
  while (from < text.size()) {
    size_t end = text.find(". ", from);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string sentence = text.substr(from, end - from);
    from = end;
    while (from < text.size() && text[from] == ' ') ++from;
    while (!sentence.empty() && sentence.back() == ' ') sentence.pop_back();
    if (sentence.empty() || std::regex_search(sentence, config_reference)) continue;
    // A rule's name in it is said as its title ("kpi_x for the whole authority.").
    std::string said;
    auto last = sentence.cbegin();
    for (std::sregex_iterator it(sentence.begin(), sentence.end(), identifier), stop; it != stop; ++it) {
      said.append(last, (*it)[0].first);
      std::string name = it->str();
      int index = config ? config->rule_index(name) : -1;
      said += index >= 0 && !config->rules[static_cast<size_t>(index)].spec.title.empty()
                  ? config->rules[static_cast<size_t>(index)].spec.title
                  : index >= 0 || name.starts_with("kpi_") ? rule_title(name, nullptr) : name;
      last = (*it)[0].second;
    }
    said.append(last, sentence.cend());
    out += (out.empty() ? "" : " ") + said;
  }
  return out;
}

std::string page_head(const ServiceSnapshot& s, const std::string& title, bool can_act) {
  std::string out = "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>" +
                    html_escape(title) + "</title><link rel=\"icon\" type=\"image/svg+xml\" href=\"" +
                    html_escape(icon_data_url()) + "\"><style>" + kPageStyle + "</style>";
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

std::string action_buttons(const Alert& a) {
  return "<button class=\"ack\" data-fingerprint=\"" + html_escape(a.fingerprint) +
         "\">Acknowledge</button><button class=\"silence\" data-rule=\"" + html_escape(a.rule) + "\" data-key=\"" +
         html_escape(a.key) + "\">Silence 7 days</button><span class=\"action-message\" role=\"status\"></span>";
}


namespace {

// A rule's alerts open at once when one is critical, unless they are so many that the page would
// be a long scroll on a phone (the team pages show them by worker).
constexpr size_t kOpenAtMost = 10;

}  // namespace

std::string render_status_page(const ServiceSnapshot& s, bool can_acknowledge) {
  std::ostringstream html;
  size_t counts[3] = {0, 0, 0};

  // Every alert as the team pages say it (wording, link, who acknowledged it), most urgent first.
  std::vector<DayEntry> entries;
  for (const Alert& a : *s.alerts) {
    auto ack = s.acknowledged.find(a.fingerprint);
    entries.push_back({&a, false, false, ack == s.acknowledged.end() ? nullptr : &ack->second});
  }
  TeamDay day;
  if (s.config) day = make_team_day("casewatch", "", entries, DayContext{s.today, s.config->calendar.get(), s.timezone});
  std::map<std::string, std::vector<const DayItem*>> by_rule;
  struct TeamCount { size_t by_severity[3] = {0, 0, 0}; size_t all = 0; };
  std::map<std::string, TeamCount> by_team;
  for (const std::string& team : known_teams(s)) by_team[team];
  for (const DayItem* item : day.firing()) {
    const Alert& a = *item->alert;
    ++counts[static_cast<int>(a.severity)];
    by_rule[a.rule].push_back(item);
    const std::string_view team = a.labels().value_or_empty("team");
    TeamCount& count = by_team[std::string(team)];
    ++count.by_severity[static_cast<int>(a.severity)];
    ++count.all;
  }

  html << page_head(s, "casewatch", can_acknowledge);
  html << "<h1>casewatch</h1><div class=\"meta\">"
       << (s.ready ? "Last evaluation " + local_time(s.evaluated_at, s.timezone) : std::string("Waiting for the first evaluation"))
       << " &middot; times in " << html_escape(s.timezone) << "</div>";
  html << "<p class=\"meta\"><a href=\"#alerts\">Alerts by rule</a> &middot; <a href=\"#service\">Feeds and rules</a></p>";
  if (!s.state_error.empty())
    html << "<p class=\"err\" id=\"state-error\">State writes are failing: " << html_escape(s.state_error)
         << ". Alerts may fire again, or be lost, at the next restart.</p>";
  html << "<div class=\"summary\">"
       << "<div class=\"tile critical\"><b id=\"count-critical\">" << counts[2] << "</b>critical</div>"
       << "<div class=\"tile warning\"><b id=\"count-warning\">" << counts[1] << "</b>warning</div>"
       << "<div class=\"tile info\"><b id=\"count-info\">" << counts[0] << "</b>info</div></div>";

  // The teams first: each team's page is where its manager acts.
  html << "<section id=\"teams\"><h2>Teams</h2><div class=\"table-wrap\"><table class=\"cards\"><caption "
          "class=\"visually-hidden\">Alerts by team</caption><thead><tr><th scope=\"col\">Team</th><th scope=\"col\">Critical</th>"
          "<th scope=\"col\">Warning</th><th scope=\"col\">Info</th><th scope=\"col\">All alerts</th></tr></thead><tbody>";
  for (const auto& [team, n] : by_team) {
    html << "<tr><th scope=\"row\">"
         << (team.empty() ? std::string("(no team)")
                          : "<a href=\"/team?name=" + receiver_text::percent_encode(team) + "\">" + html_escape(team) + "</a>")
         << "</th><td data-label=\"Critical\">" << n.by_severity[2] << "</td><td data-label=\"Warning\">" << n.by_severity[1]
         << "</td><td data-label=\"Info\">" << n.by_severity[0] << "</td><td data-label=\"All\">" << n.all << "</td></tr>";
  }
  if (by_team.empty()) html << "<tr><td colspan=\"5\">No alerts.</td></tr>";
  html << "</tbody></table></div></section>";

  html << "<section id=\"alerts\"><h2>Alerts by rule</h2>";
  for (const auto& [rule, items] : by_rule) {
    size_t critical = 0;
    for (const DayItem* item : items) critical += item->alert->severity == Severity::Critical;
    const std::string title = items[0]->title;
    html << "<details" << (critical && items.size() <= kOpenAtMost ? " open" : "") << " id=\"rule-" << html_escape(rule)
         << "\"><summary>" << html_escape(title) << " (" << count_of(items.size(), "alert", "alerts")
         << (critical ? ", " + std::to_string(critical) + " critical" : "") << ")</summary>"
         << "<div class=\"table-wrap\"><table class=\"alerts cards\"><caption class=\"visually-hidden\">Alerts of "
         << html_escape(title) << "</caption><thead><tr><th scope=\"col\">Alert</th><th scope=\"col\">Key</th>"
         << "<th scope=\"col\">Team</th><th scope=\"col\">Due</th><th scope=\"col\">State</th><th scope=\"col\">Status</th>"
         << (can_acknowledge ? "<th scope=\"col\">Actions</th>" : "") << "</tr></thead><tbody>";
    for (const DayItem* item : items) {
      const Alert& a = *item->alert;
      const bool silenced = s.silenced.count(a.fingerprint) > 0;
      std::string severity(severity_name(a.severity));
      html << "<tr id=\"alert-" << html_escape(a.fingerprint) << "\"" << (silenced ? " class=\"acked\"" : "")
           << "><td class=\"wide\" data-label=\"Alert\"><span class=\"sev " << severity << "\">" << severity << "</span> <a href=\""
           << html_escape(item->link) << "\">" << html_escape(item->what) << "</a></td><td data-label=\"Key\">"
           << html_escape(a.key) << "</td><td data-label=\"Team\">" << html_escape(a.labels().value_or_empty("team"))
           << "</td><td class=\"date\" data-label=\"Due\">" << format_uk_date(a.due_date) << "</td><td data-label=\"State\">"
           << alert_state_name(a.state) << (a.rejected_since ? " (held: its latest row was rejected)" : "")
           << "</td><td class=\"status\" data-label=\"Status\">"
           << (!item->acknowledged.empty() ? html_escape(item->acknowledged) : silenced ? std::string("silenced") : std::string())
           << "</td>";
      if (can_acknowledge) html << "<td class=\"actions\">" << (silenced ? "" : action_buttons(a)) << "</td>";
      html << "</tr>";
    }
    html << "</tbody></table></div></details>";
  }
  if (by_rule.empty()) html << "<p>No alerts.</p>";
  html << "</section>";

  // What keeps casewatch going, for whoever runs it: at the bottom, reached from the link at the top.
  html << "<section id=\"service\"><h2>Feeds and rules</h2><h3>Feeds</h3><div class=\"table-wrap\"><table class=\"cards\">"
          "<caption class=\"visually-hidden\">Feeds</caption><thead><tr><th scope=\"col\">Feed</th><th scope=\"col\">Status</th>"
          "<th scope=\"col\">Records</th><th scope=\"col\">Rows rejected</th><th scope=\"col\">Last success</th></tr></thead><tbody>";
  for (const FeedStatus& f : s.feeds)
    html << "<tr><th scope=\"row\">" << html_escape(f.name) << "</th><td data-label=\"Status\" class=\""
         << (f.up ? "ok\">up" : "err\">" + std::string(f.stale ? "stale" : "down"))
         << (f.last_error.empty() ? "" : ": " + html_escape(f.last_error)) << "</td><td data-label=\"Records\">" << f.records
         << "</td><td data-label=\"Rows rejected\">" << f.rejected_last << "</td><td data-label=\"Last success\">"
         << local_time(f.last_success, s.timezone) << "</td></tr>";
  html << "</tbody></table></div>";

  html << "<h3>Rules</h3><div class=\"table-wrap\"><table class=\"cards\"><caption class=\"visually-hidden\">Rules</caption>"
          "<thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Kind</th><th scope=\"col\">Health</th>"
          "<th scope=\"col\">Matches</th><th scope=\"col\">Duration</th></tr></thead><tbody>";
  for (const RuleStatus& r : s.rules)
    html << "<tr><th scope=\"row\">" << html_escape(r.name) << "</th><td data-label=\"Kind\">" << html_escape(r.kind)
         << "</td><td data-label=\"Health\" class=\"" << (r.health == RuleHealth::Err ? "err" : "ok") << "\">"
         << rule_health_name(r.health) << (r.last_error.empty() ? "" : ": " + html_escape(r.last_error))
         << "</td><td data-label=\"Matches\">" << r.matches << "</td><td data-label=\"Duration\">"
         << static_cast<int64_t>(r.duration_seconds * 1000000) / 1000.0 << " ms</td></tr>";
  html << "</tbody></table></div>";
  html << "<p class=\"meta\"><a href=\"/metrics\">metrics</a> &middot; <a href=\"/api/v1/alerts\">alerts API</a></p></section>";
  html << "</body></html>";
  return html.str();
}

}  // namespace casewatch
