// A team's page and an alert's page. The team page leads with what the manager reading it must
// do today: the team's timescales by worker, most urgent first, in plain words.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "web/pages.h"
#include "integrations/html.h"
#include "notify/receivers/common.h"
#include "rules/value.h"

namespace casewatch {
namespace {


constexpr Day kSparklineDays = 30;

std::string label_of(const Alert& a, const char* name) {
  return std::string(a.labels().value_or_empty(name));
}

// A measure's name: its rule's title, else its name in words ("kpi_re_referral_rate" -> "Re-referral rate").
std::string measure_name(const Rule& rule) {
  return rule.spec.title.empty() ? rule_title(rule.spec.name, nullptr) : rule.spec.title;
}

std::string value_text(double value, const std::string& unit) {
  if (unit == "ratio") return number_to_text(std::round(value * 1000) / 10) + "%";
  std::string text = number_to_text(std::round(value * 10) / 10);
  if (unit.empty()) return text;
  std::string words = unit;
  std::replace(words.begin(), words.end(), '_', ' ');
  return text + " " + words;
}

std::string sparkline(const std::map<Day, double>& days, Day today, const std::string& what) {
  std::vector<std::pair<Day, double>> points;
  for (auto it = days.lower_bound(today - kSparklineDays + 1); it != days.end() && it->first <= today; ++it)
    points.push_back(*it);
  if (points.empty()) return "";
  double low = points[0].second, high = points[0].second;
  for (const auto& [day, v] : points) low = std::min(low, v), high = std::max(high, v);
  constexpr double kWidth = 120, kHeight = 32, kPad = 3;
  auto x = [&](Day day) { return kPad + (kWidth - 2 * kPad) * (day - (today - kSparklineDays + 1)) / (kSparklineDays - 1); };
  auto y = [&](double v) { return high == low ? kHeight / 2 : kPad + (kHeight - 2 * kPad) * (high - v) / (high - low); };
  std::ostringstream svg;
  svg.precision(4);
  svg << "<svg class=\"spark\" width=\"120\" height=\"32\" viewBox=\"0 0 120 32\" role=\"img\" aria-label=\""
      << html_escape(what) << ": " << points.size() << (points.size() == 1 ? " day" : " days") << "\">";
  if (points.size() == 1) {
    svg << "<circle cx=\"" << x(points[0].first) << "\" cy=\"" << y(points[0].second) << "\" r=\"2\" fill=\"#1f6feb\"/>";
  } else {
    svg << "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"1.5\" points=\"";
    for (const auto& [day, v] : points) svg << x(day) << ',' << y(v) << ' ';
    svg << "\"/>";
  }
  svg << "</svg>";
  return svg.str();
}

const char* bucket_of(Urgency urgency) {
  switch (urgency) {
    case Urgency::Overdue: return "overdue";
    case Urgency::DueToday: return "today";
    case Urgency::DueThisWeek: return "week";
    case Urgency::Later: return "later";
    default: return "other";
  }
}

// The row of one alert: due date, what it means today, the summary (its link to the alert's
// page), actions. An acknowledged alert says by whom and when; a silenced one says so.
std::string alert_row(const ServiceSnapshot& s, const DayItem& item, bool can_act) {
  const Alert& a = *item.alert;
  bool silenced = s.silenced.count(a.fingerprint) > 0;
  std::string bucket = bucket_of(item.urgency);
  std::string severity(severity_name(a.severity));
  std::ostringstream row;
  row << "<tr id=\"alert-" << html_escape(a.fingerprint) << "\" data-bucket=\"" << bucket << "\""
      << (silenced ? " class=\"acked\"" : "") << "><td class=\"date\" data-label=\"Due\">" << format_uk_date(a.due_date)
      << "</td><td data-label=\"When\" class=\"timing" << (bucket == "overdue" ? " overdue" : bucket == "today" ? " today" : "") << "\">"
      << html_escape(item.timing) << "</td><td data-label=\"What\"><span class=\"sev " << severity << "\">" << severity
      << "</span> <a href=\"" << html_escape(item.link) << "\">" << html_escape(item.what) << "</a>"
      << (a.rejected_since ? " <span class=\"held\">(held: its latest row was rejected)</span>" : "") << "</td><td data-label=\"Rule\">"
      << html_escape(item.title) << "</td><td data-label=\"Status\" class=\"status\">";
  if (!item.acknowledged.empty()) row << html_escape(item.acknowledged);
  else if (silenced) row << "silenced";
  row << "</td>";
  if (can_act) row << "<td class=\"actions\">" << (silenced ? "" : action_buttons(a)) << "</td>";
  row << "</tr>";
  return row.str();
}

std::string table_head(const std::string& caption, bool can_act) {
  return "<div class=\"table-wrap\"><table class=\"alerts cards\"><caption class=\"visually-hidden\">" + html_escape(caption) +
         "</caption><thead><tr><th scope=\"col\">Due</th><th scope=\"col\">When</th><th scope=\"col\">What</th>"
         "<th scope=\"col\">Rule</th><th scope=\"col\">Status</th>" +
         (can_act ? "<th scope=\"col\">Actions</th>" : "") + "</tr></thead><tbody>";
}

}  // namespace

std::vector<std::string> known_teams(const ServiceSnapshot& s) {
  std::set<std::string> teams(s.alert_teams.begin(), s.alert_teams.end());
  if (s.config) {
    auto known = s.config->metrics.known_label_values.find("team");
    if (known != s.config->metrics.known_label_values.end()) teams.insert(known->second.begin(), known->second.end());
  }
  teams.erase("");
  return {teams.begin(), teams.end()};
}

std::string team_links(const ServiceSnapshot& s, const std::string& current) {
  std::vector<std::string> teams = known_teams(s);
  if (teams.empty()) return "";
  std::string out = "<nav class=\"teams\">Teams: ";
  for (const std::string& team : teams) {
    if (team == current) out += "<b>" + html_escape(team) + "</b> ";
    else out += "<a href=\"/team?name=" + receiver_text::percent_encode(team) + "\">" + html_escape(team) + "</a> ";
  }
  return out + "</nav>";
}

std::string render_team_page(const ServiceSnapshot& s, const std::string& team, bool can_act) {
  std::ostringstream html;
  html << page_head(s, "casewatch: " + team, can_act);
  html << "<h1>" << html_escape(team) << "</h1><div class=\"meta\">"
       << (s.ready ? "Last evaluation " + local_time(s.evaluated_at, s.timezone) : std::string("Waiting for the first evaluation"))
       << " &middot; times in " << html_escape(s.timezone) << " &middot; <a href=\"/\">all alerts</a></div>";
  html << team_links(s, team);
  if (!s.ready || !s.config) {
    html << "<p>Nothing evaluated yet.</p></body></html>";
    return html.str();
  }

  // The team's day, as its email and chat messages tell it.
  std::vector<DayEntry> entries;
  for (const Alert& a : *s.alerts) {
    if (label_of(a, "team") != team) continue;
    auto ack = s.acknowledged.find(a.fingerprint);
    entries.push_back({&a, false, false, ack == s.acknowledged.end() ? nullptr : &ack->second});
  }
  DayContext context{s.today, s.config->calendar.get(), s.timezone};
  context.titles = s.config->rule_titles.get();
  TeamDay day = make_team_day(team, team, entries, context);

  html << "<div class=\"summary\">"
       << "<div class=\"tile critical\"><b id=\"count-overdue\">" << day.overdue << "</b>overdue</div>"
       << "<div class=\"tile warning\"><b id=\"count-today\">" << day.due_today << "</b>due today</div>"
       << "<div class=\"tile warning\"><b id=\"count-week\">" << day.due_this_week << "</b>due this week</div>"
       << "<div class=\"tile info\"><b id=\"count-other\">" << day.measures.size() + day.others.size()
       << "</b>other alerts</div></div>";

  // The team's measures: the latest value, its trend, and whether it is past its target.
  std::set<std::pair<std::string, std::string>> alerting;
  for (const Alert& a : *s.alerts) alerting.insert({a.rule, a.key});
  html << "<h2>Measures</h2><div class=\"kpis\" id=\"kpis\">";
  size_t tiles = 0;
  if (s.value_history)
    for (const ValueSeries& series : *s.value_history) {
      if (series.team != team || series.days.empty()) continue;
      int index = s.config->rule_index(series.rule);
      if (index < 0) continue;
      const auto& [day, value] = *series.days.rbegin();
      bool past_target = alerting.count({series.rule, series.key}) > 0;
      const Rule& rule = s.config->rules[static_cast<size_t>(index)];
      std::string name = measure_name(rule);
      std::string tooltip = plain_description(rule.spec.description, s.config.get());
      html << "<div class=\"kpi" << (past_target ? " alerting" : "") << "\" data-rule=\"" << html_escape(series.rule) << "\""
           << (tooltip.empty() ? "" : " title=\"" + html_escape(tooltip) + "\"") << "><span class=\"name\">"
           << html_escape(name) << "</span><b>" << value_text(value, series.unit) << "</b>"
           << sparkline(series.days, s.today, name) << "<span class=\"meta\">"
           << (day == s.today ? std::string("today") : "on " + format_uk_date(day))
           << (past_target ? " &middot; past its target" : "") << "</span></div>";
      ++tiles;
    }
  if (!tiles) html << "<p>No measure is recorded for this team yet.</p>";
  html << "</div>";

  html << "<h2>Timescales by worker</h2>";
  if (day.workers.empty()) html << "<p>No timescale of this team is overdue or due soon.</p>";
  for (const WorkerDay& w : day.workers) {
    std::string name = w.worker.empty() ? "Not allocated" : w.worker;
    size_t open = w.heading.rfind(" (");
    html << "<h3 class=\"worker\">" << html_escape(open == std::string::npos ? w.heading : w.heading.substr(0, open))
         << (open == std::string::npos ? "" : " <span class=\"meta\">" + html_escape(w.heading.substr(open + 1)) + "</span>")
         << "</h3>" << table_head(name + "'s timescales", can_act);
    for (size_t i : w.items) html << alert_row(s, day.timescales[i], can_act);
    html << "</tbody></table></div>";
  }

  if (!day.measures.empty() || !day.others.empty()) {
    html << "<h2>Other alerts</h2>" << table_head("Other alerts of " + team, can_act);
    for (const auto* list : {&day.measures, &day.others})
      for (const DayItem& item : *list) html << alert_row(s, item, can_act);
    html << "</tbody></table></div>";
  }

  // What falls due in the next two weeks if nothing is done.
  html << "<h2>The next two weeks</h2><p class=\"meta\">Timescales falling due each working day if nothing is done "
          "(casewatch forecast).</p>";
  std::map<Day, std::map<std::string, size_t>> ahead;
  if (s.forecast)
    for (const ForecastCount& c : *s.forecast)
      if (c.team == team) ahead[c.day][c.worker] += c.count;
  std::vector<Day> days;
  for (Day day = s.today; day < s.today + kForecastDays; ++day)
    if (s.config->calendar->is_working_day(day) || ahead.count(day)) days.push_back(day);
  size_t most = 1;
  for (const auto& [day, workers_due] : ahead) {
    size_t total = 0;
    for (const auto& [w, n] : workers_due) total += n;
    most = std::max(most, total);
  }
  html << "<svg class=\"forecast\" width=\"" << days.size() * 24 << "\" height=\"60\" role=\"img\" aria-label=\"due per day\">";
  for (size_t i = 0; i < days.size(); ++i) {
    size_t total = 0;
    for (const auto& [w, n] : ahead[days[i]]) total += n;
    int height = static_cast<int>(48.0 * static_cast<double>(total) / static_cast<double>(most));
    html << "<rect x=\"" << i * 24 + 2 << "\" y=\"" << 50 - height << "\" width=\"20\" height=\"" << height
         << "\" fill=\"#9a6700\"><title>" << format_uk_date(days[i]) << ": " << total << "</title></rect><text x=\""
         << i * 24 + 12 << "\" y=\"59\" font-size=\"8\" text-anchor=\"middle\">" << format_date(days[i], "%a")
         << "</text>";
  }
  html << "</svg><div class=\"table-wrap\"><table id=\"forecast\" class=\"cards\"><caption class=\"visually-hidden\">"
          "Timescales falling due each working day</caption><thead><tr><th scope=\"col\">Day</th><th scope=\"col\">Due</th>"
          "<th scope=\"col\">By worker</th></tr></thead><tbody>";
  for (Day day : days) {
    size_t total = 0;
    std::string who;
    for (const auto& [w, n] : ahead[day]) {
      total += n;
      who += (who.empty() ? "" : ", ") + html_escape(w.empty() ? "not allocated" : w) + " " + std::to_string(n);
    }
    html << "<tr><td class=\"date\" data-label=\"Day\">" << format_date(day, "%a ") << format_uk_date(day)
         << "</td><td data-label=\"Due\">" << total << "</td><td data-label=\"By worker\">" << who << "</td></tr>";
  }
  html << "</tbody></table></div></body></html>";
  return html.str();
}

std::string render_alert_page(const ServiceSnapshot& s, const Alert& a, const AlertHistory& history) {
  std::ostringstream html;
  html << page_head(s, "casewatch: " + a.rule + " " + a.key, false);
  std::string severity(severity_name(a.severity));
  html << "<h1>" << html_escape(a.rule) << " <span class=\"sev " << severity << "\">" << severity << "</span></h1>"
       << "<div class=\"meta\">times in " << html_escape(s.timezone) << " &middot; <a href=\"/\">all alerts</a>";
  std::string team = label_of(a, "team");
  if (!team.empty()) html << " &middot; <a href=\"/team?name=" << receiver_text::percent_encode(team) << "\">" << html_escape(team) << "</a>";
  html << "</div>";
  auto summary = a.annotations().find("summary");
  if (summary != a.annotations().end()) html << "<p id=\"summary\">" << html_escape(summary->second) << "</p>";
  if (a.due_date != kNullDay && s.config)
    html << "<p id=\"due\">Due " << format_uk_date(a.due_date) << ": " << due_wording(a.due_date, DayContext{s.today, s.config->calendar.get(), s.timezone})
         << "</p>";

  html << "<h2>History</h2><ul id=\"history\">";
  html << "<li>First seen " << local_time(a.active_since, s.timezone) << "</li>";
  if (a.fired_at) html << "<li>Firing since " << local_time(a.fired_at, s.timezone) << "</li>";
  else html << "<li>Pending: not firing yet</li>";
  if (a.missing_since)
    html << "<li>Its record has been missing from the extract since " << local_time(a.missing_since, s.timezone) << "</li>";
  if (a.rejected_since)
    html << "<li id=\"rejected\">Held as it was since " << local_time(a.rejected_since, s.timezone)
         << ": its record's latest row was rejected (a cell that could not be read; the feed's log names it), so "
            "whether the work is done cannot be told</li>";
  for (const DeliveryRecord& d : history.deliveries)
    html << "<li class=\"delivery\">" << (d.resolved ? "Resolution sent to " : "Notification sent to ") << html_escape(d.receiver)
         << (d.target.empty() ? "" : " (" + html_escape(d.target) + ")") << " at " << local_time(d.at, s.timezone) << "</li>";
  if (history.acknowledgement)
    html << "<li class=\"ack\">Acknowledged by " << html_escape(history.acknowledgement->created_by) << " at "
         << local_time(history.acknowledgement->created_at, s.timezone)
         << (history.acknowledgement->comment.empty() ? "" : ": " + html_escape(history.acknowledgement->comment)) << "</li>";
  for (const Silence& silence : history.silences)
    html << "<li class=\"silence\">Silenced by " << html_escape(silence.created_by) << " until "
         << local_time(silence.ends_at, s.timezone) << (silence.comment.empty() ? "" : ": " + html_escape(silence.comment))
         << "</li>";
  html << "</ul>";

  auto pairs = [&](const char* id, const char* caption, const StringMap& values) {
    html << "<div class=\"table-wrap\"><table id=\"" << id << "\" class=\"cards\"><caption class=\"visually-hidden\">"
         << caption << "</caption>";
    for (const auto& [name, value] : values)
      html << "<tr><th scope=\"row\">" << html_escape(name) << "</th><td>" << html_escape(value) << "</td></tr>";
    html << "</table></div>";
  };
  html << "<h2>Labels</h2>";
  pairs("labels", "The alert's labels", a.labels());
  html << "<h2>Annotations</h2>";
  pairs("annotations", "The alert's annotations", a.annotations());
  html << "</body></html>";
  return html.str();
}

}  // namespace casewatch
