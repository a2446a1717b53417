// The HTML pages: the status page (status_page.cc), a team's page and an alert's page
// (team_page.cc). Server-rendered, no external assets; charts are inline SVG.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "service/service.h"
#include "notify/silences.h"
#include "notify/team_day.h"
#include "notify/state.h"

namespace casewatch {

// Up to and including <body>, and a banner for each silence over every alert; `can_act` adds the
// script behind the acknowledge and silence buttons, which counts from the page's evaluation.
std::string page_head(const ServiceSnapshot& snapshot, const std::string& title, bool can_act);
// The Content-Security-Policy every page is served with: nothing but the pages' own style and
// script (by their hashes), requests to casewatch itself, never framed.
const std::string& page_security_policy();
// The pages' icon (an SVG), served at /favicon.ico too; every page links it as a data: URL.
const std::string& page_icon_svg();
// A rule's description for a tooltip: one line, without the sentences that point into the
// configuration ("The floor is in [tables.kpi_floor].") and with rule names said in words.
std::string plain_description(const std::string& description, const Config* config);
// A manager's Acknowledge and Silence buttons for an alert's row, and the role="status" element
// in which the page's script says when a request failed.
std::string action_buttons(const Alert& alert);
// A line of links to every team's page, `current` not linked.
std::string team_links(const ServiceSnapshot& snapshot, const std::string& current);
// The teams the service knows: those of its alerts and of [metrics] known_label_values.team.
std::vector<std::string> known_teams(const ServiceSnapshot& snapshot);

// A team's morning: its children's timescales overdue, due today and this week by worker, most
// urgent first; its measures with sparklines; what falls due in the days ahead.
std::string render_team_page(const ServiceSnapshot& snapshot, const std::string& team, bool can_act);

// What the alert page shows beyond the alert itself (read on the event loop and from the outbox).
struct AlertHistory {
  std::optional<Ack> acknowledgement;
  std::vector<Silence> silences;  // active ones matching it
  std::vector<DeliveryRecord> deliveries;
};
std::string render_alert_page(const ServiceSnapshot& snapshot, const Alert& alert, const AlertHistory& history);

}  // namespace casewatch
