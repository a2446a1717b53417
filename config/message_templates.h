// The wording of what a manager reads (emails, chat messages, digests, the team page): templates
// in the rule language, one per phrase, from templates/messages.toml (built in) with a
// receiver's own file over it. Immutable once loaded; render() is thread-safe.
#pragma once

#include <array>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostics.h"
#include "rules/calendar.h"
#include "rules/template.h"

namespace casewatch {

class TomlFile;

// Every phrase, as "section.key" in the file.
enum class Phrase {
  TimingOverdue, TimingOverdueOne, TimingOverdueSince, TimingDueToday, TimingDueTomorrow, TimingDueIn,
  TimingDueInOne, TimingDueOn,
  CountOverdue, CountDueToday, CountDueThisWeek, CountLater, CountMeasures, CountMeasuresOne, CountOthers,
  CountOthersOne, CountResolved, CountAcknowledged, CountNothing,
  Subject, DigestSubject, Intro, DigestIntro, WorkerHeading, NotAllocated, TimescalesHeading, MeasuresHeading,
  OthersHeading, ResolvedHeading, AcknowledgedHeading, More, TeamLink, Footer,
  ItemLine, ItemMeasure, ItemResolved, ItemAcknowledged, ItemNew,
};
inline constexpr size_t kPhraseCount = static_cast<size_t>(Phrase::ItemNew) + 1;

class MessageTemplates {
 public:
  // The built-in wording (templates/messages.toml as built). Never fails: a broken built-in file
  // fails the build's tests, not a running daemon.
  static std::shared_ptr<const MessageTemplates> defaults();
  // The built-in wording with the phrases of the file at `path` over it. Every problem (an
  // unknown section or key, a template that does not compile, a variable it does not have) goes
  // to `diagnostics` with the file, line and column; nullptr then.
  static std::shared_ptr<const MessageTemplates> load(const std::string& path, std::shared_ptr<const LookupTables> tables,
                                                       Diagnostics& diagnostics);
  // The same from text (tests).
  static std::shared_ptr<const MessageTemplates> parse(std::string text, const std::string& path,
                                                        std::shared_ptr<const LookupTables> tables, Diagnostics& diagnostics);

  // The phrase with `values` for its variables, by slot; `today` for today() and the working-day
  // functions over `calendar`. Line breaks become spaces.
  std::string render(Phrase phrase, std::initializer_list<Value> values, Day today, const Calendar& calendar) const;

  const std::string& source() const { return source_; }  // where it was read from, "" for the built-in

 private:
  static std::shared_ptr<const MessageTemplates> over_defaults(const std::optional<TomlFile>& file,
                                                               const std::shared_ptr<const LookupTables>& tables,
                                                               Diagnostics& diagnostics);

  std::array<std::shared_ptr<const Template>, kPhraseCount> phrases_;
  std::shared_ptr<const LookupTables> tables_;
  std::string source_;
};

// The built-in file's text (generated from templates/messages.toml at build time).
extern const std::string_view kDefaultMessageTemplates;

}  // namespace casewatch
