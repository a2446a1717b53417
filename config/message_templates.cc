#include "config/message_templates.h"

#include <cstdlib>
#include <iostream>

#include "config/toml_util.h"
#include "rules/value.h"

namespace casewatch {
namespace {

struct PhraseSpec {
  Phrase phrase;
  const char* section;
  const char* key;
  std::initializer_list<std::pair<const char*, Type>> variables;  // by slot
};

constexpr std::pair<const char*, Type> kDue{"due", Type::Date};
constexpr std::pair<const char*, Type> kN{"n", Type::Number};
constexpr std::pair<const char*, Type> kGroup{"group", Type::String};
constexpr std::pair<const char*, Type> kCounts{"counts", Type::String};
constexpr std::pair<const char*, Type> kCount{"count", Type::Number};
constexpr std::pair<const char*, Type> kDigest{"digest", Type::Bool};

// Item variables: what, title, timing, worker, severity, new.
#define CASEWATCH_ITEM_VARIABLES                                                                   \
  {"what", Type::String}, {"title", Type::String}, {"timing", Type::String}, {"worker", Type::String}, \
      {"severity", Type::String}, {"new", Type::Bool}

const PhraseSpec kPhrases[kPhraseCount] = {
    {Phrase::TimingOverdue, "timing", "overdue", {kN, kDue}},
    {Phrase::TimingOverdueOne, "timing", "overdue_one", {kN, kDue}},
    {Phrase::TimingOverdueSince, "timing", "overdue_since", {kN, kDue}},
    {Phrase::TimingDueToday, "timing", "due_today", {kN, kDue}},
    {Phrase::TimingDueTomorrow, "timing", "due_tomorrow", {kN, kDue}},
    {Phrase::TimingDueIn, "timing", "due_in", {kN, kDue}},
    {Phrase::TimingDueInOne, "timing", "due_in_one", {kN, kDue}},
    {Phrase::TimingDueOn, "timing", "due_on", {kN, kDue}},
    {Phrase::CountOverdue, "counts", "overdue", {kN}},
    {Phrase::CountDueToday, "counts", "due_today", {kN}},
    {Phrase::CountDueThisWeek, "counts", "due_this_week", {kN}},
    {Phrase::CountLater, "counts", "later", {kN}},
    {Phrase::CountMeasures, "counts", "measures", {kN}},
    {Phrase::CountMeasuresOne, "counts", "measures_one", {kN}},
    {Phrase::CountOthers, "counts", "others", {kN}},
    {Phrase::CountOthersOne, "counts", "others_one", {kN}},
    {Phrase::CountResolved, "counts", "resolved", {kN}},
    {Phrase::CountAcknowledged, "counts", "acknowledged", {kN}},
    {Phrase::CountNothing, "counts", "nothing", {kN}},
    {Phrase::Subject, "message", "subject", {kGroup, kCounts, kCount, kDigest}},
    {Phrase::DigestSubject, "message", "digest_subject", {kGroup, kCounts, kCount, kDigest}},
    {Phrase::Intro, "message", "intro", {kGroup, kCounts, kCount, kDigest}},
    {Phrase::DigestIntro, "message", "digest_intro", {kGroup, kCounts, kCount, kDigest}},
    {Phrase::WorkerHeading, "message", "worker_heading", {{"worker", Type::String}, kCounts}},
    {Phrase::NotAllocated, "message", "not_allocated", {}},
    {Phrase::TimescalesHeading, "message", "timescales_heading", {kGroup}},
    {Phrase::MeasuresHeading, "message", "measures_heading", {kGroup}},
    {Phrase::OthersHeading, "message", "others_heading", {kGroup}},
    {Phrase::ResolvedHeading, "message", "resolved_heading", {kGroup}},
    {Phrase::AcknowledgedHeading, "message", "acknowledged_heading", {kGroup}},
    {Phrase::More, "message", "more", {kN, kGroup}},
    {Phrase::TeamLink, "message", "team_link", {kGroup}},
    {Phrase::Footer, "message", "footer", {kGroup}},
    {Phrase::ItemLine, "item", "line", {CASEWATCH_ITEM_VARIABLES}},
    {Phrase::ItemMeasure, "item", "measure", {CASEWATCH_ITEM_VARIABLES, {"value", Type::String}}},
    {Phrase::ItemResolved, "item", "resolved", {CASEWATCH_ITEM_VARIABLES}},
    {Phrase::ItemAcknowledged, "item", "acknowledged",
     {{"by", Type::String}, {"at", Type::String}, {"comment", Type::String}}},
    {Phrase::ItemNew, "item", "new", {}},
};
#undef CASEWATCH_ITEM_VARIABLES

const PhraseSpec& spec_of(Phrase phrase) { return kPhrases[static_cast<size_t>(phrase)]; }

// Reads every phrase `file` gives into `phrases`; false when any is wrong (each reported).
bool read_phrases(const TomlFile& file, const std::shared_ptr<const LookupTables>& tables,
                  std::array<std::shared_ptr<const Template>, kPhraseCount>& phrases, Diagnostics& d) {
  size_t errors_before = d.size();
  for (const auto& [section_key, section_node] : file.root()) {
    const toml::table* section = section_node.as_table();
    bool known_section = false;
    for (const PhraseSpec& spec : kPhrases) known_section |= section_key.str() == spec.section;
    if (!known_section || !section) {
      file.error(section_key, "unknown section '" + std::string(section_key.str()) +
                                  "' (the sections are timing, counts, message, item)", d);
      continue;
    }
    for (const auto& [key, node] : *section) {
      const PhraseSpec* found = nullptr;
      for (const PhraseSpec& spec : kPhrases)
        if (section_key.str() == spec.section && key.str() == spec.key) found = &spec;
      if (!found) {
        file.error(key, "unknown key '" + std::string(key.str()) + "' in [" + std::string(section_key.str()) + "]", d);
        continue;
      }
      if (!node.is_string()) {
        file.error(node, "'" + std::string(key.str()) + "' must be a string (a template)", d);
        continue;
      }
      Scope scope;
      scope.tables = tables.get();
      for (const auto& [name, type] : found->variables) scope.variables.emplace_back(name, type);
      std::vector<ExprError> problems;
      auto compiled = Template::compile(node.as_string()->get(), scope, problems);
      for (const ExprError& e : problems) file.error_in_string(node, e.offset, e.message, d);
      if (compiled && problems.empty()) phrases[static_cast<size_t>(found->phrase)] = std::make_shared<const Template>(std::move(*compiled));
    }
  }
  return d.size() == errors_before;
}

}  // namespace

std::shared_ptr<const MessageTemplates> MessageTemplates::defaults() {
  static const std::shared_ptr<const MessageTemplates> built_in = [] {
    Diagnostics d;
    auto file = TomlFile::parse(std::string(kDefaultMessageTemplates), "templates/messages.toml", d);
    auto templates = std::make_shared<MessageTemplates>();
    if (file) read_phrases(*file, nullptr, templates->phrases_, d);
    for (size_t i = 0; i < kPhraseCount; ++i)
      if (!templates->phrases_[i])
        d.error("templates/messages.toml", std::string("the built-in wording has no ") + kPhrases[i].section + "." + kPhrases[i].key);
    if (!d.empty()) {
      d.print(std::cerr);
      std::abort();
    }
    return std::shared_ptr<const MessageTemplates>(std::move(templates));
  }();
  return built_in;
}

std::shared_ptr<const MessageTemplates> MessageTemplates::over_defaults(const std::optional<TomlFile>& file,
                                                                        const std::shared_ptr<const LookupTables>& tables,
                                                                        Diagnostics& diagnostics) {
  if (!file) return nullptr;
  auto templates = std::make_shared<MessageTemplates>(*MessageTemplates::defaults());
  templates->tables_ = tables;
  templates->source_ = file->path();
  if (!read_phrases(*file, tables, templates->phrases_, diagnostics)) return nullptr;
  return templates;
}

std::shared_ptr<const MessageTemplates> MessageTemplates::parse(std::string text, const std::string& path,
                                                                std::shared_ptr<const LookupTables> tables,
                                                                Diagnostics& diagnostics) {
  return over_defaults(TomlFile::parse(std::move(text), path, diagnostics), tables, diagnostics);
}

std::shared_ptr<const MessageTemplates> MessageTemplates::load(const std::string& path,
                                                               std::shared_ptr<const LookupTables> tables,
                                                               Diagnostics& diagnostics) {
  return over_defaults(TomlFile::load(path, diagnostics), tables, diagnostics);
}

std::string MessageTemplates::render(Phrase phrase, std::initializer_list<Value> values, Day today,
                                     const Calendar& calendar) const {
  const Template& compiled = *phrases_[static_cast<size_t>(phrase)];
  // Exactly the phrase's variables, so a call that passes too few reads nulls, never past the end.
  std::vector<Value> slots(values.begin(), values.end());
  slots.resize(spec_of(phrase).variables.size());
  Arena arena;
  EvalContext context;
  context.variables = slots;
  context.today = today;
  context.calendar = &calendar;
  context.tables = tables_.get();
  context.arena = &arena;
  std::string out = compiled.render(context);
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return out;
}

}  // namespace casewatch
