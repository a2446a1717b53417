#include "tools/gen/generator.h"

#include <algorithm>
#include <array>
#include <cmath>  // exact roundings only: lround, ceil, round
#include <memory>
#include <string_view>

#include "tools/gen/csv_writer.h"
#include "tools/gen/random.h"

namespace casewatch::gen {
namespace {

// ---------------------------------------------------------------------------------------------
// The service's structure. Team names, caseload limits and supervision intervals must agree with
// examples/improvement-plan/casewatch.toml ([tables.caseload_limit] and
// [tables.supervision_interval_days]) so that the data exercises the rules as intended.

enum Team : uint8_t {
  kMash,
  kAssessment,
  kChildInNeed,
  kChildProtection,
  kCorporateParenting,
  kLeavingCare,
  kIro,
  kTeamCount
};
constexpr std::string_view kTeamName[kTeamCount] = {
    "MASH", "Assessment", "Child in Need", "Child Protection", "Corporate Parenting",
    "Leaving Care", "Independent Reviewing Officers"};
// [tables.caseload_limit]; teams the table leaves out get lookup's default, 20.
constexpr int kCaseloadLimit[kTeamCount] = {20, 18, 20, 20, 15, 20, 60};
// Teams are staffed so that the average caseload is this share of the limit; uneven allocation
// then puts some workers over it.
constexpr double kStaffingRatio = 0.88;

enum CaseType : uint8_t { kCaseAssessment, kCaseCin, kCaseCp, kCaseLac, kCaseCareLeaver, kCaseIro };
constexpr std::string_view kCaseTypeName[] = {"Assessment",   "Child in need", "Child protection",
                                              "Looked after", "Care leaver",   "Independent review"};
// [tables.supervision_interval_days], by case type.
constexpr int kSupervisionInterval[] = {0, 42, 28, 42, 56, 0};

// Share of rows given one malformed cell in a date column the config declares (spread over the
// file's date columns): well under 1% of rows, far below the 5% rejection threshold.
constexpr double kBadRowRate = 0.0025;
// How far back the windowed extracts reach.
constexpr int kReferralWindowDays = 425;    // 14 months: a full 12-month window for backtests
constexpr int kAssessmentWindowDays = 380;
constexpr int kVisitWindowDays = 28;
constexpr int kConferencePastDays = 91;
constexpr int kConferenceFutureDays = 35;

// ---------------------------------------------------------------------------------------------
// Coded values, as Annex A lists and the SSDA903 return spell them.

constexpr std::string_view kGender[] = {"a) Male", "b) Female", "c) Not known", ""};
constexpr double kGenderWeight[] = {0.505, 0.48, 0.005, 0.01};

constexpr std::string_view kEthnicity[] = {"WBRI", "WIRI", "WOTH", "WROM", "MWBC", "MWBA", "MWAS",
                                           "MOTH", "AIND", "APKN", "ABAN", "AOTH", "BCRB", "BAFR",
                                           "BOTH", "CHNE", "OOTH", "REFU", "NOBT", ""};
constexpr double kEthnicityWeight[] = {0.66, 0.004, 0.05, 0.004, 0.03, 0.01, 0.01, 0.03, 0.02, 0.03,
                                       0.012, 0.012, 0.01, 0.03, 0.01, 0.004, 0.02, 0.005, 0.02, 0.01};

constexpr std::string_view kReferralSource[] = {
    "1A) Individual: family member, relative or carer",
    "1B) Individual: acquaintance",
    "1C) Individual: self",
    "2A) Schools",
    "2B) Education services",
    "3A) Health services: GP",
    "3B) Health services: health visitor",
    "3E) Health services: A&E",
    "3F) Health services: other",
    "4) Housing",
    "5A) LA services: social care, e.g. adults' social care",
    "5B) LA services: other internal",
    "5D) Police",
    "6) Other legal agency",
    "7) Other",
    "8) Anonymous",
    "9) Unknown",
};
constexpr double kReferralSourceWeight[] = {0.05, 0.01, 0.01, 0.19, 0.02, 0.03, 0.04, 0.02, 0.05,
                                            0.02, 0.08, 0.04, 0.29, 0.04, 0.04, 0.01, 0.06};

constexpr std::string_view kYesNo[] = {"a) Yes", "b) No", ""};

constexpr std::string_view kAbuseCategory[] = {"Neglect", "Emotional abuse", "Physical abuse",
                                               "Sexual abuse", "Multiple"};
constexpr double kAbuseCategoryWeight[] = {0.5, 0.37, 0.07, 0.035, 0.025};

constexpr std::string_view kNeedCode[] = {"N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"};
constexpr double kNeedCodeWeight[] = {0.56, 0.1, 0.04, 0.09, 0.14, 0.02, 0.01, 0.03, 0.01};

constexpr std::string_view kClosureReason[] = {"RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8"};
constexpr double kClosureReasonWeight[] = {0.02, 0.02, 0.02, 0.05, 0.08, 0.03, 0.6, 0.18};

constexpr std::string_view kLegalStatus[] = {"C2", "C1", "V2", "E1", "J2", "L2", "D1"};
constexpr double kLegalStatusWeight[] = {0.55, 0.12, 0.18, 0.09, 0.02, 0.02, 0.02};

constexpr std::string_view kPlacementType[] = {
    "U1) Foster placement with relative or friend, long term fostering",
    "U3) Foster placement with relative or friend, not long term or FFA",
    "U4) Foster placement with other foster carer, long term fostering",
    "U6) Foster placement with other foster carer, not long term or FFA",
    "K2) Homes and hostels",
    "R1) Residential care home",
    "P1) Placed with own parents or other person with parental responsibility",
    "H5) Semi-independent living accommodation not subject to children's homes regulations",
    "A4) Placed for adoption with placement order",
};
constexpr double kPlacementTypeWeight[] = {0.06, 0.08, 0.2, 0.35, 0.11, 0.03, 0.06, 0.07, 0.04};

constexpr std::string_view kEligibility[] = {"a) Eligible", "b) Relevant", "c) Former relevant",
                                             "d) Qualifying"};
constexpr std::string_view kInTouch[] = {"YES", "NO", "REFU", "NREQ", ""};
constexpr double kInTouchWeight[] = {0.88, 0.05, 0.03, 0.02, 0.02};

constexpr std::string_view kAccommodation[] = {
    "B) Parents or relatives",
    "D) Semi-independent, transitional accommodation and self-contained accommodation",
    "E) Supported lodgings",
    "K) Ordinary lodgings, without formal support",
    "R) Residence with former foster carers",
    "S) No fixed abode, homeless",
    "T) Foyers and similar supported accommodation",
    "U) Independent living",
    "V) Emergency accommodation",
    "X) In custody",
    "Y) Other accommodation",
};
constexpr double kAccommodationWeight[] = {0.1,  0.22, 0.06, 0.02, 0.1, 0.01,
                                           0.03, 0.36, 0.02, 0.03, 0.05};
constexpr std::string_view kSuitability[] = {"1) Suitable", "2) Not suitable", ""};
constexpr double kSuitabilityWeight[] = {0.88, 0.09, 0.03};

// SSDA903 care-leaver activity (ACTIV); G4, G5 and G6 are NEET.
constexpr std::string_view kActivity[] = {"F1", "P1", "F2", "P2", "F4", "P4",
                                          "F5", "P5", "G4", "G5", "G6", "0"};
constexpr double kActivityWeight[] = {0.07, 0.01, 0.2,  0.02, 0.18, 0.06,
                                      0.04, 0.01, 0.08, 0.21, 0.07, 0.05};

constexpr std::string_view kChangeReason[] = {
    "Worker left the authority",
    "Case transferred between teams",
    "Worker on long-term leave",
    "Caseload rebalancing",
    "Service restructure, team boundaries changed",
    "Agency worker contract ended",
};
constexpr double kChangeReasonWeight[] = {0.3, 0.3, 0.08, 0.12, 0.1, 0.1};

constexpr std::string_view kConferenceType[] = {"Initial child protection conference",
                                                "Review child protection conference",
                                                "Looked after review"};

constexpr std::string_view kVisitType[] = {"Child protection visit", "Statutory visit (looked after)",
                                           "Child in need visit"};

constexpr std::string_view kSurname[] = {
    "Smith",   "Jones",    "Taylor",  "Brown",    "Williams", "Wilson",   "Johnson", "Davies",
    "Patel",   "Robinson", "Wright",  "Thompson", "Evans",    "Walker",   "White",   "Roberts",
    "Green",   "Hall",     "Thomas",  "Clarke",   "Jackson",  "Wood",     "Harris",  "Edwards",
    "Turner",  "Martin",   "Cooper",  "Hill",     "Ward",     "Hughes",   "Moore",   "Clark",
    "King",    "Harrison", "Lewis",   "Baker",    "Lee",      "Allen",    "Morris",  "Khan",
    "Scott",   "Watson",   "Davis",   "Parker",   "James",    "Bennett",  "Young",   "Phillips",
    "Richardson", "Mitchell", "Bailey", "Carter", "Cook",     "Singh",    "Shaw",    "Bell",
    "Collins", "Morgan",   "Kelly",   "Begum",    "Miller",   "Cox",      "Hussain", "Marshall",
    "O'Brien", "Okafor",   "Nowak",   "Ahmed",    "Murphy",   "Grant",    "Campbell", "Ellis",
};
constexpr std::string_view kForename[] = {
    "Jo",     "Sam",    "Alex",   "Chris",  "Sarah",  "Emma",   "Laura", "Rachel", "Claire",
    "Helen",  "Lisa",   "Amy",    "Kate",   "Nicola", "Gemma",  "Hannah", "Sophie", "Zoe",
    "David",  "Paul",   "Mark",   "James",  "Andrew", "Michael", "Daniel", "Tom",   "Ben",
    "Aisha",  "Fatima", "Priya",  "Amina",  "Grace",  "Joy",     "Tariq",  "Imran", "Kwame",
    "Siobhan", "Niamh", "Ewa",    "Marta",  "Carol",  "Janet",   "Karen",  "Angela", "Lee",
};

// ---------------------------------------------------------------------------------------------

struct Practice {  // how well an authority keeps to its timescales, as probabilities
  double assessment_on_time = 0.85;
  double cin_plan_on_time = 0.80;
  double icpc_on_time = 0.78;
  double review_on_time = 0.90;
  double cp_visit_on_time = 0.88;
  double lac_visit_on_time = 0.90;
  double iha_on_time = 0.70;
  double rha_on_time = 0.88;
  double rereferral = 0.24;
  double repeat_cp = 0.23;
  double report_on_time = 0.78;
  double supervision_on_time = 0.85;
  double pathway_current = 0.84;
  double seen_alone = 0.66;
  double worker_churn = 1.0;
};

struct Authority {
  std::string prefix;  // prepended to every key value: "" for one authority, "301-" in England
  double referrals_per_year = 0;
  int cin = 0, cp = 0, cla = 0, care_leavers = 0;
  Practice practice;
  uint64_t seed = 0;
};

struct Outputs {
  std::unique_ptr<CsvWriter> referrals, assessments, section47, cin, cp, cla, care_leavers,
      allocations, worker_changes, supervision, visits, conferences;

  std::vector<CsvWriter*> all() const {
    return {referrals.get(),   assessments.get(),    section47.get(),      cin.get(),
            cp.get(),          cla.get(),            care_leavers.get(),   allocations.get(),
            worker_changes.get(), supervision.get(), visits.get(),         conferences.get()};
  }
};

// ---------------------------------------------------------------------------------------------
// Entities of one authority. Indices (child, worker) point into the authority's vectors.

constexpr int kNone = -1;

struct Child {
  uint32_t number;
  Day dob;
  uint8_t gender, ethnicity;
  Day last_referral = kNoDay;
  int referrals12 = 0;
};

struct Referral {
  uint32_t number, child;
  Day date, previous;
  int count12;
  uint8_t source, nfa;  // nfa: index into kYesNo
  int assessment = kNone;
  int worker = kNone;
};

struct Assessment {
  uint32_t number, child;
  Day referral, start, authorised;
  uint8_t seen, outcome;  // into kYesNo
  int worker = kNone;
};

struct Section47 {
  uint32_t number, child;
  Day strategy, icpc;
  uint8_t unnecessary, outcome;  // into kYesNo
  int worker = kNone;
};

struct CpPlan {
  uint32_t number, child;
  Day start, end = kNoDay, latest_review = kNoDay, last_visit = kNoDay;
  uint8_t seen_alone, initial_category, latest_category;
  int previous;  // -1: blank
  int worker = kNone, iro = kNone;
};

struct LookedAfter {
  uint32_t child;
  Day start, ceased = kNoDay, first_review = kNoDay, latest_review = kNoDay, last_visit = kNoDay;
  Day last_health = kNoDay, last_dental = kNoDay, placement_start;
  int placements12;
  uint8_t legal, placement_type, long_term;  // long_term: 0 no, 1 yes, 2 blank
  int worker = kNone, iro = kNone;
};

struct CareLeaver {
  uint32_t child;
  Day pathway, contact;
  uint8_t eligibility, in_touch, accommodation, suitability, activity;
  int worker = kNone;
};

enum CinStatus : uint8_t { kStatusCin, kStatusCp, kStatusLac, kStatusClosed };
constexpr std::string_view kCinStatusName[] = {"Child in need", "Child protection plan", "Looked after",
                                               "Closed"};

struct CinEpisode {
  uint32_t child;
  Day start, plan, last_seen, closure = kNoDay;
  uint8_t need, reason, status;
  int source = kNone;  // index into cp_ or lac_ for those statuses
  int worker = kNone;
};

enum Source : uint8_t { kFromSection47, kFromCp, kFromLac, kFromCin };

struct Conference {
  uint32_t child;
  Day date, shared;
  uint8_t type;
  Source source;
  uint32_t index;
};

struct Visit {
  uint32_t child;
  Day date;
  uint8_t type;
  Source source;
  uint32_t index;
};

struct Worker {
  uint32_t number;
  Team team;
  double weight;
  int manager;  // into managers_
  std::string name;
};

struct OpenCase {
  uint32_t child;
  CaseType type;
  Team team;
  Day start;
  int* worker;  // the entity's worker (or IRO) slot
  Day allocated = kNoDay;
};

// ---------------------------------------------------------------------------------------------

class AuthorityGenerator {
 public:
  AuthorityGenerator(const Authority& la, const WorkCalendar& cal, Day as_of, Outputs& out)
      : la_(la), p_(la.practice), cal_(cal), today_(as_of), out_(out), rng_(la.seed) {
    next_child_number_ = 100000 + static_cast<uint32_t>(rng_.below(900));
  }

  void run() {
    make_referrals();
    make_assessments();
    make_section47();
    make_child_protection();
    make_looked_after();
    make_care_leavers();
    make_children_in_need();
    staff_and_allocate();
    write_referrals();
    write_assessments();
    write_section47();
    write_children_in_need();
    write_child_protection();
    write_looked_after();
    write_care_leavers();
    write_allocations_changes_supervision();
    write_visits();
    write_conferences();
  }

 private:
  // ---- small helpers ----

  uint32_t new_child(Day dob) {
    Child c;
    c.number = next_child_number_;
    next_child_number_ += 1 + static_cast<uint32_t>(rng_.below(3));
    c.dob = dob;
    c.gender = static_cast<uint8_t>(rng_.weighted(kGenderWeight));
    c.ethnicity = static_cast<uint8_t>(rng_.weighted(kEthnicityWeight));
    children_.push_back(c);
    return static_cast<uint32_t>(children_.size() - 1);
  }

  // A child aged at most `max_years` (and at least `min_years`) on `on`, younger ages a little
  // more common, as in referrals.
  Day birth_for_age(Day on, int min_years, int max_years) {
    const int years = rng_.range(min_years, max_years);
    return add_months(on, -12 * years) - rng_.range(0, 364);
  }

  Day child_birth_on(Day on) {
    static constexpr double kAgeWeight[] = {0.1,   0.055, 0.055, 0.055, 0.055, 0.05,
                                            0.05,  0.05,  0.05,  0.05,  0.055, 0.06,
                                            0.065, 0.065, 0.065, 0.06,  0.05,  0.03};
    const int years = static_cast<int>(rng_.weighted(kAgeWeight));
    return add_months(on, -12 * years) - rng_.range(0, 364);
  }

  // A day in [lo, hi], mostly a working day (referrals and meetings cluster on weekdays).
  Day business_day_in(Day lo, Day hi) {
    Day d = lo + static_cast<Day>(rng_.below(static_cast<uint64_t>(hi - lo) + 1));
    for (int tries = 0; tries < 4 && !cal_.is_working(d) && rng_.chance(0.9); ++tries) {
      d = lo + static_cast<Day>(rng_.below(static_cast<uint64_t>(hi - lo) + 1));
    }
    return d;
  }

  // The later of two uniform draws: skews towards the end of the range (work lands near its
  // deadline more often than early).
  int late_skewed(int lo, int hi) { return std::max(rng_.range(lo, hi), rng_.range(lo, hi)); }

  int exp_days(double mean, int cap) {
    return std::min(cap, static_cast<int>(rng_.exponential(mean)));
  }

  // When a meeting due on `due` is held: on time (a little before) or late.
  Day held_date(Day due, double on_time, int early_max, double late_mean) {
    Day held = rng_.chance(on_time) ? due - rng_.range(0, early_max)
                                    : due + 1 + exp_days(late_mean, 200);
    return cal_.on_or_before(held);
  }

  // When a conference report was (or, for a future conference, is planned to be) shared.
  Day report_shared(Day conference) {
    Day shared;
    if (conference <= today_) {
      const double u = rng_.uniform();
      if (u < p_.report_on_time) {
        shared = cal_.add(conference, -rng_.range(3, 8));
      } else if (u < p_.report_on_time + (1 - p_.report_on_time) * 0.65) {
        shared = cal_.add(conference, -rng_.range(0, 2));
      } else {
        shared = kNoDay;
      }
    } else {
      shared = rng_.chance(p_.report_on_time) ? cal_.add(conference, -rng_.range(3, 8))
                                              : cal_.add(conference, -rng_.range(0, 2));
      if (shared > today_) shared = kNoDay;
    }
    return shared;
  }

  void add_conference(uint32_t child, Day date, uint8_t type, Source source, uint32_t index) {
    if (date < today_ - kConferencePastDays || date > today_ + kConferenceFutureDays) return;
    conferences_.push_back({child, date, report_shared(date), type, source, index});
  }

  void add_visit(uint32_t child, Day date, uint8_t type, Source source, uint32_t index) {
    if (date == kNoDay || date > today_ || date <= today_ - kVisitWindowDays) return;
    visits_.push_back({child, date, type, source, index});
  }

  // ---- building the authority's records ----

  void make_referrals() {
    const Day window_start = today_ - (kReferralWindowDays - 1);
    const int n = static_cast<int>(std::lround(la_.referrals_per_year * kReferralWindowDays / 365.0));
    std::vector<Day> dates(static_cast<size_t>(n));
    for (Day& d : dates) d = business_day_in(window_start, today_);
    std::sort(dates.begin(), dates.end());
    referrals_.reserve(dates.size());
    size_t lo = 0;
    for (size_t i = 0; i < dates.size(); ++i) {
      const Day d = dates[i];
      while (dates[lo] < d - 364) ++lo;
      Referral r{};
      r.number = static_cast<uint32_t>(i + 1) * 3 + static_cast<uint32_t>(rng_.below(3));
      r.date = d;
      r.previous = kNoDay;
      r.count12 = 1;
      r.source = static_cast<uint8_t>(rng_.weighted(kReferralSourceWeight));
      bool placed = false;
      if (rng_.chance(p_.rereferral)) {
        const double covered = std::min(1.0, (d - window_start) / 365.0);
        if (i - lo >= 10 && rng_.chance(covered)) {
          const uint32_t child = referrals_[lo + rng_.below(i - lo)].child;
          if (children_[child].last_referral < d) {
            r.child = child;
            r.previous = children_[child].last_referral;
            r.count12 = std::min(children_[child].referrals12 + 1, 9);
            placed = true;
          }
        } else if (d - window_start + 1 <= 364) {
          r.child = new_child(child_birth_on(d));
          r.previous = d - rng_.range(d - window_start + 1, 364);
          r.count12 = rng_.chance(0.15) ? 3 : 2;
          placed = true;
        }
      }
      if (!placed) {
        r.child = new_child(child_birth_on(d));
        if (rng_.chance(0.12)) r.previous = d - rng_.range(366, 2200);
      }
      children_[r.child].last_referral = d;
      children_[r.child].referrals12 = r.count12;
      const double u = rng_.uniform();
      r.nfa = u < 0.07 ? 0 : (u < 0.99 ? 1 : 2);
      referrals_.push_back(r);
    }
  }

  void make_assessments() {
    for (size_t i = 0; i < referrals_.size(); ++i) {
      Referral& r = referrals_[i];
      if (r.nfa == 0 || r.date < today_ - kAssessmentWindowDays) continue;
      Assessment a{};
      a.number = r.number;
      a.child = r.child;
      a.referral = r.date;
      a.start = rng_.chance(0.5) ? r.date : std::min(today_, cal_.add(r.date, rng_.range(1, 2)));
      const int duration = rng_.chance(p_.assessment_on_time) ? late_skewed(2, 10)
                                                              : 11 + exp_days(7, 60);
      a.authorised = cal_.add(r.date, duration);
      if (a.authorised > today_) a.authorised = kNoDay;
      if (a.authorised != kNoDay) {
        const double u = rng_.uniform();
        a.seen = u < 0.95 ? 0 : (u < 0.98 ? 1 : 2);
        a.outcome = rng_.chance(0.57) ? 0 : (rng_.chance(0.98) ? 1 : 2);
      } else {
        a.seen = cal_.between(a.start, today_) >= 3 && rng_.chance(0.8) ? 0 : 2;
        a.outcome = 2;
      }
      r.assessment = static_cast<int>(assessments_.size());
      assessments_.push_back(a);
    }
  }

  void make_section47() {
    const int n = static_cast<int>(std::lround(la_.referrals_per_year * 0.31 * 380 / 365.0));
    std::vector<Day> dates(static_cast<size_t>(n));
    for (Day& d : dates) d = cal_.on_or_before(today_ - rng_.range(0, 379));
    std::sort(dates.begin(), dates.end());
    for (int i = 0; i < n; ++i) {
      Section47 s{};
      s.number = static_cast<uint32_t>(i + 1) * 2 + static_cast<uint32_t>(rng_.below(2));
      s.strategy = dates[static_cast<size_t>(i)];
      // Most enquiries follow a recent referral of the same child.
      auto it = std::upper_bound(referrals_.begin(), referrals_.end(), s.strategy,
                                 [](Day d, const Referral& r) { return d < r.date; });
      const size_t hi = static_cast<size_t>(it - referrals_.begin());
      if (hi > 0 && referrals_[hi - 1].date >= s.strategy - 30 && rng_.chance(0.4)) {
        size_t lo = hi - 1;
        while (lo > 0 && referrals_[lo - 1].date >= s.strategy - 30) --lo;
        s.child = referrals_[lo + rng_.below(hi - lo)].child;
      } else {
        s.child = new_child(child_birth_on(s.strategy));
      }
      s.icpc = kNoDay;
      s.outcome = 2;
      if (cal_.add(s.strategy, rng_.range(5, 15)) > today_) {
        s.unnecessary = 2;  // enquiry still under way
      } else {
        const double u = rng_.uniform();
        s.unnecessary = u < 0.6 ? 0 : (u < 0.993 ? 1 : 2);
        if (s.unnecessary != 0) {
          const int days = rng_.chance(p_.icpc_on_time) ? late_skewed(6, 15) : 16 + exp_days(6, 45);
          const Day icpc = cal_.add(s.strategy, days);
          if (icpc <= today_) {
            s.icpc = icpc;
            s.outcome = rng_.chance(0.87) ? 0 : 1;
          } else if (rng_.chance(0.45)) {
            s.icpc = icpc;  // booked: a date after the extract
          }
        }
      }
      if (s.icpc != kNoDay) {
        add_conference(s.child, s.icpc, 0, kFromSection47, static_cast<uint32_t>(section47_.size()));
      }
      section47_.push_back(s);
    }
  }

  void make_cp_plan(Day start, Day end) {
    CpPlan plan{};
    plan.number = static_cast<uint32_t>(cp_.size() + 1) * 2 + static_cast<uint32_t>(rng_.below(2));
    plan.start = start;
    plan.end = end;
    // Under 18 throughout (a plan may start before birth: the unborn child has a plan too).
    plan.child = new_child(child_birth_on(end == kNoDay ? today_ : end));
    plan.start = start = cal_.on_or_before(std::max(start, children_[plan.child].dob - rng_.range(0, 60)));
    if (rng_.chance(0.01)) {
      plan.previous = -1;
    } else if (rng_.chance(p_.repeat_cp)) {
      static constexpr double kPrevious[] = {0.7, 0.22, 0.08};
      plan.previous = 1 + static_cast<int>(rng_.weighted(kPrevious));
    } else {
      plan.previous = 0;
    }
    plan.initial_category = static_cast<uint8_t>(rng_.weighted(kAbuseCategoryWeight));
    plan.latest_category = rng_.chance(0.9) ? plan.initial_category
                                            : static_cast<uint8_t>(rng_.weighted(kAbuseCategoryWeight));
    const double u = rng_.uniform();
    plan.seen_alone = u < 0.7 ? 0 : (u < 0.95 ? 1 : 2);
    const uint32_t index = static_cast<uint32_t>(cp_.size());
    const Day limit = end == kNoDay ? today_ : end;

    // Review conferences: the first within 3 months of the plan, then at most every 6 months.
    Day due = add_months(start, 3);
    while (true) {
      Day held = held_date(due, p_.review_on_time, 15, 18);
      if (held <= std::max(start, plan.latest_review)) held = cal_.add(std::max(start, plan.latest_review), 1);
      if (held > limit) {
        if (end == kNoDay) add_conference(plan.child, held, 1, kFromCp, index);
        break;
      }
      plan.latest_review = held;
      add_conference(plan.child, held, 1, kFromCp, index);
      due = add_months(held, 6);
    }

    // Visits every 10 working days (local policy).
    const Day last_working = cal_.on_or_before(limit);
    const int back = rng_.chance(p_.cp_visit_on_time) ? rng_.range(0, 9) : rng_.range(10, 25);
    plan.last_visit = cal_.add(last_working, -back);
    if (plan.last_visit < start) {
      const int since = cal_.between(start, limit);
      plan.last_visit = rng_.chance(0.7) ? cal_.add(start, rng_.range(0, std::max(0, since))) : kNoDay;
      if (plan.last_visit != kNoDay && plan.last_visit > limit) plan.last_visit = kNoDay;
    }
    if (end == kNoDay) {
      for (Day v = plan.last_visit; v != kNoDay && v >= start && v > today_ - kVisitWindowDays;
           v = cal_.add(v, -rng_.range(5, 10))) {
        add_visit(plan.child, v, 0, kFromCp, index);
      }
    }
    cp_.push_back(plan);
  }

  void make_child_protection() {
    for (int i = 0; i < la_.cp; ++i) {
      const int age = rng_.chance(0.08) ? rng_.range(0, 30) : exp_days(260, 1400);
      make_cp_plan(cal_.on_or_before(today_ - age), kNoDay);
    }
    current_cp_ = cp_.size();
    const int ended = static_cast<int>(std::lround(la_.cp * 1.15));
    for (int i = 0; i < ended; ++i) {
      const Day end = cal_.on_or_before(today_ - rng_.range(1, 364));
      const int duration = std::max(30, exp_days(300, 1500));
      make_cp_plan(cal_.on_or_before(end - duration), end);
    }
  }

  void make_lac(bool current) {
    LookedAfter c{};
    static constexpr double kAgeBand[] = {0.19, 0.18, 0.39, 0.24};  // 0-4, 5-9, 10-15, 16-17
    static constexpr int kBandLo[] = {0, 5, 10, 16}, kBandHi[] = {4, 9, 15, 17};
    const size_t band = rng_.weighted(kAgeBand);
    const Day limit = current ? today_ : today_ - rng_.range(1, 364);
    const Day dob = birth_for_age(limit, kBandLo[band], kBandHi[band]);
    const int max_episode = std::max(1, limit - dob - 1);
    c.start = rng_.chance(current ? 0.12 : 0.2) ? limit - rng_.range(0, 60)
                                                : limit - std::min(max_episode, exp_days(950, 6000));
    c.start = std::max(c.start, dob);
    if (!current) c.ceased = limit;
    c.child = new_child(dob);
    c.legal = static_cast<uint8_t>(rng_.weighted(kLegalStatusWeight));
    const uint32_t index = static_cast<uint32_t>(lac_.size());

    // Reviews: the first within 20 working days, the second within 3 months, then 6-monthly.
    {
      const int days = rng_.chance(p_.review_on_time) ? late_skewed(8, 20) : 21 + exp_days(8, 80);
      Day held = cal_.add(c.start, days);
      if (held > limit) {
        if (current) add_conference(c.child, held, 2, kFromLac, index);
      } else {
        c.first_review = c.latest_review = held;
        add_conference(c.child, held, 2, kFromLac, index);
        Day due = add_months(held, 3);
        while (true) {
          held = held_date(due, p_.review_on_time, 14, 15);
          if (held <= c.latest_review) held = cal_.add(c.latest_review, 1);
          if (held > limit) {
            if (current) add_conference(c.child, held, 2, kFromLac, index);
            break;
          }
          c.latest_review = held;
          add_conference(c.child, held, 2, kFromLac, index);
          due = add_months(held, 6);
        }
      }
    }

    // Health: the initial assessment within 20 working days, then 6-monthly under 5, yearly
    // from 5.
    {
      const int days = rng_.chance(p_.iha_on_time) ? late_skewed(5, 20) : 21 + exp_days(15, 120);
      Day held = cal_.add(c.start, days);
      if (held <= limit) {
        c.last_health = held;
        while (true) {
          const int months = age_years(dob, c.last_health) < 5 ? 6 : 12;
          const Day due = add_months(c.last_health, months);
          held = rng_.chance(p_.rha_on_time) ? due - rng_.range(0, 25) : due + 1 + exp_days(30, 300);
          if (held <= c.last_health) held = c.last_health + 1;
          if (held > limit) break;
          c.last_health = held;
        }
      }
      if (rng_.chance(0.004)) c.last_health = kNoDay;  // not recorded
    }
    c.last_dental = rng_.chance(0.82)  ? limit - rng_.range(0, 364)
                    : rng_.chance(0.6) ? limit - rng_.range(365, 700)
                                       : kNoDay;

    // The current placement, and visits: within a week of it starting, then at most every 6
    // weeks in its first year; after that 3-monthly where it is agreed to last until 18.
    c.placement_start = rng_.chance(0.45) ? c.start : limit - std::min(limit - c.start, exp_days(420, 4000));
    c.placements12 = 1;
    if (c.placement_start != c.start && c.placement_start > limit - 365) {
      c.placements12 = 2 + (rng_.chance(0.25) ? rng_.range(1, 3) : 0);
    }
    const int age_now = age_years(dob, limit);
    const bool settled = limit - c.placement_start >= 365 && age_now >= 5;
    c.long_term = rng_.chance(0.02) ? 2 : (settled && rng_.chance(0.55) ? 1 : 0);
    if (c.long_term == 1) {
      c.placement_type = rng_.chance(0.3) ? 0 : 2;
    } else {
      c.placement_type = static_cast<uint8_t>(rng_.weighted(kPlacementTypeWeight));
      if (c.placement_type == 0 || c.placement_type == 2) c.placement_type += 1;
    }
    const Day first = c.placement_start + (rng_.chance(p_.lac_visit_on_time) ? rng_.range(0, 7)
                                                                            : rng_.range(8, 21));
    if (first > limit) {
      // Not yet seen in this placement: the last visit was in the one before, if any.
      const Day before = c.placement_start - rng_.range(1, 40);
      c.last_visit = c.placement_start > c.start && before >= c.start ? before : kNoDay;
      if (current) add_visit(c.child, c.last_visit, 1, kFromLac, index);
    } else {
      Day v = first;
      const Day long_term_from = add_months(c.placement_start, 12);
      while (true) {
        if (current) add_visit(c.child, v, 1, kFromLac, index);
        Day next;
        if (c.long_term == 1 && v >= long_term_from) {
          const Day due = add_months(v, 3);
          next = rng_.chance(p_.lac_visit_on_time) ? due - rng_.range(0, 40) : due + rng_.range(1, 40);
        } else {
          next = rng_.chance(p_.lac_visit_on_time) ? v + rng_.range(21, 42) : v + rng_.range(43, 75);
        }
        if (next > limit) break;
        v = next;
      }
      c.last_visit = v;
    }
    lac_.push_back(c);
  }

  void make_looked_after() {
    for (int i = 0; i < la_.cla; ++i) make_lac(true);
    current_lac_ = lac_.size();
    const int ceased = static_cast<int>(std::lround(la_.cla * 0.4));
    for (int i = 0; i < ceased; ++i) make_lac(false);
  }

  void make_care_leavers() {
    static constexpr double kAge[] = {0.1, 0.22, 0.23, 0.23, 0.22};  // 17 to 21
    for (int i = 0; i < la_.care_leavers; ++i) {
      CareLeaver c{};
      const int age = 17 + static_cast<int>(rng_.weighted(kAge));
      c.child = new_child(birth_for_age(today_, age, age));
      c.eligibility = age == 17 ? (rng_.chance(0.7) ? 1 : 0) : (rng_.chance(0.95) ? 2 : 3);
      c.pathway = rng_.chance(p_.pathway_current) ? today_ - rng_.range(0, 182)
                  : rng_.chance(0.8)             ? today_ - rng_.range(183, 420)
                                                 : kNoDay;
      c.in_touch = static_cast<uint8_t>(rng_.weighted(kInTouchWeight));
      c.contact = c.in_touch == 0 ? today_ - exp_days(20, 120) : today_ - rng_.range(30, 400);
      c.accommodation = static_cast<uint8_t>(rng_.weighted(kAccommodationWeight));
      c.suitability = static_cast<uint8_t>(rng_.weighted(kSuitabilityWeight));
      c.activity = static_cast<uint8_t>(rng_.weighted(kActivityWeight));
      care_leavers_.push_back(c);
    }
  }

  void make_children_in_need() {
    const int cin_only = std::max(0, la_.cin - la_.cp - la_.cla);
    for (int i = 0; i < cin_only; ++i) {
      CinEpisode e{};
      const int age = rng_.chance(0.22) ? rng_.range(0, 60) : exp_days(420, 2200);
      e.child = new_child(child_birth_on(today_));
      e.start = cal_.on_or_before(std::max(today_ - age, children_[e.child].dob));
      const int days = rng_.chance(p_.cin_plan_on_time) ? late_skewed(8, 25) : 26 + exp_days(12, 90);
      e.plan = cal_.add(e.start, days);
      if (e.plan > today_) e.plan = kNoDay;
      e.last_seen = rng_.chance(0.97) ? std::max(e.start, today_ - rng_.range(0, 30)) : kNoDay;
      e.need = static_cast<uint8_t>(rng_.weighted(kNeedCodeWeight));
      e.status = kStatusCin;
      if (e.last_seen != kNoDay) add_visit(e.child, e.last_seen, 2, kFromCin, static_cast<uint32_t>(cin_.size()));
      cin_.push_back(e);
    }
    for (size_t i = 0; i < current_cp_; ++i) {
      CinEpisode e{};
      e.child = cp_[i].child;
      e.start = cal_.add(cp_[i].start, -rng_.range(10, 60));
      e.plan = kNoDay;
      e.last_seen = cp_[i].last_visit;
      e.need = 0;
      e.status = kStatusCp;
      e.source = static_cast<int>(i);
      cin_.push_back(e);
    }
    for (size_t i = 0; i < current_lac_; ++i) {
      CinEpisode e{};
      e.child = lac_[i].child;
      e.start = cal_.on_or_before(lac_[i].start - rng_.range(0, 120));
      e.plan = kNoDay;
      e.last_seen = lac_[i].last_visit;
      e.need = rng_.chance(0.8) ? 0 : static_cast<uint8_t>(rng_.weighted(kNeedCodeWeight));
      e.status = kStatusLac;
      e.source = static_cast<int>(i);
      cin_.push_back(e);
    }
    const int closed = cin_only / 4;
    for (int i = 0; i < closed; ++i) {
      CinEpisode e{};
      e.closure = cal_.on_or_before(today_ - rng_.range(1, 180));
      e.child = new_child(child_birth_on(e.closure));
      e.start = cal_.on_or_before(std::max(e.closure - rng_.range(20, 700), children_[e.child].dob));
      e.plan = std::min(e.closure, cal_.add(e.start, rng_.range(8, 30)));
      e.last_seen = std::max(e.start, e.closure - rng_.range(0, 30));
      e.need = static_cast<uint8_t>(rng_.weighted(kNeedCodeWeight));
      e.reason = static_cast<uint8_t>(rng_.weighted(kClosureReasonWeight));
      e.status = kStatusClosed;
      cin_.push_back(e);
    }
  }

  // ---- staff ----

  void make_team(Team team, size_t open_cases) {
    const double per_worker = kCaseloadLimit[team] * kStaffingRatio;
    size_t n = static_cast<size_t>(std::ceil(open_cases / per_worker));
    if (team == kMash) n = static_cast<size_t>(std::max(2.0, std::round(la_.referrals_per_year / 450)));
    n = std::max<size_t>(n, 1);
    const size_t first_manager = managers_.size();
    for (size_t m = 0; m < (n + 6) / 7; ++m) managers_.push_back(person_name());
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      Worker w;
      w.number = static_cast<uint32_t>(1000 + workers_.size());
      w.team = team;
      w.weight = rng_.chance(0.1) ? 1.25 + 0.3 * rng_.uniform() : 0.75 + 0.35 * rng_.uniform();
      w.manager = static_cast<int>(first_manager + i / 7);
      w.name = person_name();
      total += w.weight;
      team_workers_[team].push_back(static_cast<int>(workers_.size()));
      team_cumulative_[team].push_back(total);
      workers_.push_back(std::move(w));
    }
  }

  std::string person_name() {
    std::string name(rng_.pick(kSurname));
    if (rng_.chance(0.04)) name.append("-").append(rng_.pick(kSurname));
    name.append(", ").append(rng_.pick(kForename));
    return name;
  }

  // Deals a team's open cases out in proportion to its workers' weights (managers balance
  // caseloads, so they follow capacity rather than chance), in a random order.
  void allocate_team(Team team) {
    std::vector<OpenCase*> cases;
    for (OpenCase& c : open_) {
      if (c.team == team) cases.push_back(&c);
    }
    if (cases.empty()) return;
    const auto& cumulative = team_cumulative_[team];
    const auto& members = team_workers_[team];
    std::vector<int> slots;
    slots.reserve(cases.size());
    for (size_t i = 0; i < members.size(); ++i) {
      // Slots for worker i: the rounded cumulative share less what earlier workers got.
      const size_t upto = static_cast<size_t>(std::lround(cumulative[i] / cumulative.back() * cases.size()));
      while (slots.size() < upto) slots.push_back(members[i]);
    }
    while (slots.size() < cases.size()) slots.push_back(members.back());
    for (size_t i = slots.size(); i > 1; --i) std::swap(slots[i - 1], slots[rng_.below(i)]);
    for (size_t i = 0; i < cases.size(); ++i) *cases[i]->worker = slots[i];
  }

  int pick_any(Team team) {
    const auto& members = team_workers_[team];
    return members[rng_.below(members.size())];
  }

  void staff_and_allocate() {
    for (Assessment& a : assessments_) {
      if (a.authorised == kNoDay) open_.push_back({a.child, kCaseAssessment, kAssessment, a.referral, &a.worker});
    }
    for (CinEpisode& e : cin_) {
      if (e.status == kStatusCin) open_.push_back({e.child, kCaseCin, kChildInNeed, e.start, &e.worker});
    }
    for (size_t i = 0; i < current_cp_; ++i) {
      open_.push_back({cp_[i].child, kCaseCp, kChildProtection, cp_[i].start, &cp_[i].worker});
    }
    for (size_t i = 0; i < current_lac_; ++i) {
      open_.push_back({lac_[i].child, kCaseLac, kCorporateParenting, lac_[i].start, &lac_[i].worker});
    }
    for (CareLeaver& c : care_leavers_) {
      const Day since = add_months(children_[c.child].dob, 12 * 16 + rng_.range(0, 30));
      open_.push_back({c.child, kCaseCareLeaver, kLeavingCare, since, &c.worker});
    }
    for (size_t i = 0; i < current_cp_; ++i) {
      open_.push_back({cp_[i].child, kCaseIro, kIro, cp_[i].start, &cp_[i].iro});
    }
    for (size_t i = 0; i < current_lac_; ++i) {
      open_.push_back({lac_[i].child, kCaseIro, kIro, lac_[i].start, &lac_[i].iro});
    }

    std::array<size_t, kTeamCount> counts{};
    for (const OpenCase& c : open_) ++counts[c.team];
    for (int t = 0; t < kTeamCount; ++t) make_team(static_cast<Team>(t), counts[t]);

    for (int t = 0; t < kTeamCount; ++t) allocate_team(static_cast<Team>(t));
    // Closed work keeps the worker who held it.
    for (Assessment& a : assessments_) {
      if (a.worker == kNone) a.worker = pick_any(kAssessment);
    }
    for (Referral& r : referrals_) {
      r.worker = r.assessment != kNone ? assessments_[static_cast<size_t>(r.assessment)].worker
                 : r.nfa == 0          ? pick_any(kMash)
                                       : pick_any(kAssessment);
    }
    for (Section47& s : section47_) s.worker = pick_any(kAssessment);
    for (size_t i = current_cp_; i < cp_.size(); ++i) {
      cp_[i].worker = pick_any(kChildProtection);
      cp_[i].iro = pick_any(kIro);
    }
    for (size_t i = current_lac_; i < lac_.size(); ++i) {
      lac_[i].worker = pick_any(kCorporateParenting);
      lac_[i].iro = pick_any(kIro);
    }
    for (CinEpisode& e : cin_) {
      if (e.status == kStatusCp) e.worker = cp_[static_cast<size_t>(e.source)].worker;
      if (e.status == kStatusLac) e.worker = lac_[static_cast<size_t>(e.source)].worker;
      if (e.status == kStatusClosed) e.worker = pick_any(kChildInNeed);
    }
  }

  // ---- writing ----

  std::string_view id(std::string_view kind, uint32_t number, int width) {
    char* p = id_buffer_;
    for (char c : la_.prefix) *p++ = c;
    for (char c : kind) *p++ = c;
    char digits[12];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + number % 10);
      number /= 10;
    } while (number != 0);
    for (int i = n; i < width; ++i) *p++ = '0';
    while (n > 0) *p++ = digits[--n];
    return std::string_view(id_buffer_, static_cast<size_t>(p - id_buffer_));
  }
  std::string_view child_id(uint32_t child) { return id("C", children_[child].number, 6); }
  std::string_view worker_id(int worker) { return id("W", workers_[static_cast<size_t>(worker)].number, 4); }
  const std::string& worker_name(int worker) { return workers_[static_cast<size_t>(worker)].name; }

  // A date cell in a column the config declares as a date: now and then malformed, as real
  // extracts are (an impossible date, a placeholder, month and day swapped).
  void date_cell(CsvWriter& w, Day day) {
    if (day == kNoDay || !rng_.chance(bad_cell_rate_)) {
      w.date(day);
      return;
    }
    const Civil c = civil_from_days(day);
    char text[32];
    switch (rng_.below(6)) {
      case 0:
        std::snprintf(text, sizeof text, "31/02/%04d", c.year);
        break;
      case 1:
        std::snprintf(text, sizeof text, "%d/%02d/%04d", rng_.chance(0.5) ? 31 : 30, rng_.chance(0.5) ? 4 : 11, c.year);
        if (text[0] == '3' && text[1] == '0') std::snprintf(text, sizeof text, "30/02/%04d", c.year);
        break;
      case 2:
        std::snprintf(text, sizeof text, "n/a");
        break;
      case 3:
        std::snprintf(text, sizeof text, rng_.chance(0.5) ? "TBC" : "N/A");
        break;
      case 4:
        std::snprintf(text, sizeof text, "00/00/0000");
        break;
      default:  // US order, which cannot be read as dd/mm when the day is past 12
        std::snprintf(text, sizeof text, "%02d/%02d/%04d", c.month, std::max(c.day, 13), c.year);
        break;
    }
    w.text(text);
    w.mark_bad();
  }

  void child_columns(CsvWriter& w, uint32_t child) {
    const Child& c = children_[child];
    w.text(child_id(child));
    w.text(kGender[c.gender]);
    w.text(kEthnicity[c.ethnicity]);
    w.date(c.dob);
    w.number(std::max(0, age_years(c.dob, today_)));
  }

  void write_referrals() {
    bad_cell_rate_ = kBadRowRate / 2;
    CsvWriter& w = *out_.referrals;
    for (const Referral& r : referrals_) {
      w.text(child_id(r.child));
      w.text(id("REF", r.number, 7));
      const Child& c = children_[r.child];
      w.text(kGender[c.gender]);
      w.text(kEthnicity[c.ethnicity]);
      w.date(c.dob);
      w.number(std::max(0, age_years(c.dob, r.date)));
      date_cell(w, r.date);
      w.text(kReferralSource[r.source]);
      w.text(kYesNo[r.nfa]);
      w.number(r.count12);
      date_cell(w, r.previous);
      w.text(kTeamName[r.nfa == 0 ? kMash : kAssessment]);
      w.text(worker_name(r.worker));
      w.end_row();
    }
  }

  void write_assessments() {
    bad_cell_rate_ = kBadRowRate / 3;
    CsvWriter& w = *out_.assessments;
    for (const Assessment& a : assessments_) {
      w.text(child_id(a.child));
      w.text(id("ASM", a.number, 7));
      const Child& c = children_[a.child];
      w.text(kGender[c.gender]);
      w.text(kEthnicity[c.ethnicity]);
      w.date(c.dob);
      w.number(std::max(0, age_years(c.dob, today_)));
      date_cell(w, a.referral);
      date_cell(w, a.start);
      w.text(kYesNo[a.seen]);
      date_cell(w, a.authorised);
      w.text(kYesNo[a.outcome]);
      w.text(kTeamName[kAssessment]);
      w.text(worker_name(a.worker));
      w.end_row();
    }
  }

  void write_section47() {
    bad_cell_rate_ = kBadRowRate / 2;
    CsvWriter& w = *out_.section47;
    for (const Section47& s : section47_) {
      w.text(child_id(s.child));
      w.text(id("S47-", s.number, 6));
      const Child& c = children_[s.child];
      w.text(kGender[c.gender]);
      w.text(kEthnicity[c.ethnicity]);
      w.date(c.dob);
      w.number(std::max(0, age_years(c.dob, today_)));
      date_cell(w, s.strategy);
      w.text(kYesNo[s.unnecessary]);
      date_cell(w, s.icpc);
      w.text(kYesNo[s.outcome]);
      w.text(kTeamName[kAssessment]);
      w.text(worker_name(s.worker));
      w.end_row();
    }
  }

  void write_children_in_need() {
    bad_cell_rate_ = kBadRowRate / 4;
    CsvWriter& w = *out_.cin;
    for (const CinEpisode& e : cin_) {
      child_columns(w, e.child);
      date_cell(w, e.start);
      w.text(kNeedCode[e.need]);
      date_cell(w, e.last_seen);
      date_cell(w, e.plan);
      date_cell(w, e.closure);
      w.text(e.status == kStatusClosed ? kClosureReason[e.reason] : std::string_view());
      w.text(kCinStatusName[e.status]);
      const Team team = e.status == kStatusCp    ? kChildProtection
                        : e.status == kStatusLac ? kCorporateParenting
                                                 : kChildInNeed;
      w.text(kTeamName[team]);
      w.text(worker_name(e.worker));
      w.end_row();
    }
  }

  void write_child_protection() {
    bad_cell_rate_ = kBadRowRate / 4;
    CsvWriter& w = *out_.cp;
    for (const CpPlan& plan : cp_) {
      const Child& c = children_[plan.child];
      w.text(child_id(plan.child));
      w.text(id("CPP", plan.number, 6));
      w.text(kGender[c.gender]);
      w.text(kEthnicity[c.ethnicity]);
      w.date(c.dob);
      w.number(std::max(0, age_years(c.dob, today_)));
      date_cell(w, plan.start);
      w.text(kAbuseCategory[plan.initial_category]);
      w.text(kAbuseCategory[plan.latest_category]);
      date_cell(w, plan.last_visit);
      w.text(plan.last_visit == kNoDay ? std::string_view() : kYesNo[plan.seen_alone]);
      date_cell(w, plan.latest_review);
      date_cell(w, plan.end);
      if (plan.previous < 0) {
        w.empty();
      } else {
        w.number(plan.previous);
      }
      w.text(kTeamName[kChildProtection]);
      w.text(worker_name(plan.worker));
      w.end_row();
    }
  }

  void write_looked_after() {
    bad_cell_rate_ = kBadRowRate / 9;
    CsvWriter& w = *out_.cla;
    for (const LookedAfter& c : lac_) {
      child_columns(w, c.child);
      date_cell(w, c.start);
      w.text(kLegalStatus[c.legal]);
      date_cell(w, c.first_review);
      date_cell(w, c.latest_review);
      date_cell(w, c.last_visit);
      date_cell(w, c.last_health);
      date_cell(w, c.last_dental);
      w.number(c.placements12);
      date_cell(w, c.ceased);
      date_cell(w, c.placement_start);
      w.text(kPlacementType[c.placement_type]);
      w.text(c.long_term == 1 ? "Yes" : c.long_term == 0 ? "No" : "");
      w.text(kTeamName[kCorporateParenting]);
      w.text(worker_name(c.worker));
      w.text(worker_name(c.iro));
      w.end_row();
    }
  }

  void write_care_leavers() {
    bad_cell_rate_ = kBadRowRate / 2;
    CsvWriter& w = *out_.care_leavers;
    for (const CareLeaver& c : care_leavers_) {
      child_columns(w, c.child);
      w.text(worker_name(c.worker));
      w.text(kEligibility[c.eligibility]);
      date_cell(w, c.pathway);
      w.text(kInTouch[c.in_touch]);
      date_cell(w, c.contact);
      w.text(kAccommodation[c.accommodation]);
      w.text(kSuitability[c.suitability]);
      w.text(kActivity[c.activity]);
      w.text(kTeamName[kLeavingCare]);
      w.end_row();
    }
  }

  void write_allocations_changes_supervision() {
    CsvWriter& changes = *out_.worker_changes;
    bad_cell_rate_ = kBadRowRate;
    static constexpr double kChanges[] = {0.62, 0.23, 0.1, 0.032, 0.014, 0.004};
    uint32_t change_number = 0;
    std::vector<Day> dates;
    for (OpenCase& c : open_) {
      c.allocated = c.type == kCaseAssessment || c.type == kCaseIro
                        ? c.start
                        : std::min(today_, c.start + rng_.range(0, 5));
      if (c.type != kCaseCin && c.type != kCaseCp && c.type != kCaseLac) continue;
      // Changes of social worker in the last 12 months, and now and then one before that.
      size_t n = rng_.weighted(kChanges);
      if (n > 0 && !rng_.chance(p_.worker_churn)) --n;
      dates.clear();
      const Day lo = std::max(c.start + 1, today_ - 364);
      for (size_t i = 0; i < n && lo <= today_; ++i) dates.push_back(rng_.range(lo, today_));
      if (rng_.chance(0.25) && c.start + 1 <= today_ - 365) {
        dates.push_back(rng_.range(std::max(c.start + 1, today_ - 545), today_ - 365));
      }
      std::sort(dates.begin(), dates.end());
      dates.erase(std::unique(dates.begin(), dates.end()), dates.end());
      int previous = pick_any(c.team);
      for (size_t i = 0; i < dates.size(); ++i) {
        int next = i + 1 == dates.size() ? *c.worker : pick_any(c.team);
        for (int tries = 0; next == previous && tries < 8; ++tries) {
          if (i + 1 == dates.size()) {
            previous = pick_any(c.team);
          } else {
            next = pick_any(c.team);
          }
        }
        changes.text(id("WC", ++change_number, 7));
        changes.text(child_id(c.child));
        date_cell(changes, dates[i]);
        changes.text(worker_name(previous));
        changes.text(worker_name(next));
        changes.text(kChangeReason[rng_.weighted(kChangeReasonWeight)]);
        changes.text(kTeamName[c.team]);
        changes.end_row();
        previous = next;
      }
      if (!dates.empty()) c.allocated = dates.back();
    }

    CsvWriter& allocations = *out_.allocations;
    uint32_t allocation_number = 0;
    for (const OpenCase& c : open_) {
      allocations.text(id("AL", ++allocation_number, 7));
      allocations.text(child_id(c.child));
      allocations.text(kCaseTypeName[c.type]);
      allocations.text(worker_id(*c.worker));
      allocations.text(worker_name(*c.worker));
      allocations.text(kTeamName[c.team]);
      allocations.text(c.type == kCaseIro           ? "Independent reviewing officer"
                       : c.type == kCaseCareLeaver ? "Personal adviser"
                                                   : "Social worker");
      date_cell(allocations, c.allocated);
      allocations.end_row();
    }

    CsvWriter& supervision = *out_.supervision;
    bad_cell_rate_ = kBadRowRate / 2;
    for (const OpenCase& c : open_) {
      if (c.type == kCaseAssessment || c.type == kCaseIro) continue;
      const int interval = kSupervisionInterval[c.type];
      Day last = rng_.chance(p_.supervision_on_time)
                     ? today_ - rng_.range(0, interval - 1)
                     : today_ - rng_.range(interval + 1, interval * 5 / 2);
      last = cal_.on_or_before(last);
      if (last < c.allocated) last = rng_.chance(0.5) ? kNoDay : std::min(today_, c.allocated + rng_.range(0, 10));
      supervision.text(child_id(c.child));
      supervision.text(kCaseTypeName[c.type]);
      supervision.text(kTeamName[c.team]);
      supervision.text(worker_name(*c.worker));
      supervision.text(managers_[static_cast<size_t>(workers_[static_cast<size_t>(*c.worker)].manager)]);
      date_cell(supervision, c.allocated);
      date_cell(supervision, last);
      supervision.end_row();
    }
  }

  int worker_of(Source source, uint32_t index) const {
    switch (source) {
      case kFromSection47: return section47_[index].worker;
      case kFromCp: return cp_[index].worker;
      case kFromLac: return lac_[index].worker;
      case kFromCin: return cin_[index].worker;
    }
    return kNone;
  }
  Team team_of(Source source) const {
    switch (source) {
      case kFromSection47: return kAssessment;
      case kFromCp: return kChildProtection;
      case kFromLac: return kCorporateParenting;
      case kFromCin: return kChildInNeed;
    }
    return kChildInNeed;
  }

  void write_visits() {
    bad_cell_rate_ = kBadRowRate / 1;
    CsvWriter& w = *out_.visits;
    uint32_t number = 0;
    for (const Visit& v : visits_) {
      w.text(id("V", ++number, 7));
      w.text(child_id(v.child));
      w.text(kVisitType[v.type]);
      if (rng_.chance(0.03)) {  // some systems export the time of the visit too
        w.date_time(v.date, rng_.range(8, 18), static_cast<int>(rng_.below(4)) * 15);
      } else {
        date_cell(w, v.date);
      }
      const bool seen = rng_.chance(0.96);
      w.text(seen ? "Yes" : (rng_.chance(0.7) ? "No" : ""));
      const int age = age_years(children_[v.child].dob, v.date);
      if (!seen || age < 3) {
        w.text(rng_.chance(0.5) ? "No" : "");
      } else {
        w.text(rng_.chance(p_.seen_alone) ? "Yes" : (rng_.chance(0.95) ? "No" : ""));
      }
      w.text(kTeamName[team_of(v.source)]);
      w.text(worker_name(worker_of(v.source, v.index)));
      w.end_row();
    }
  }

  void write_conferences() {
    bad_cell_rate_ = kBadRowRate / 2;
    CsvWriter& w = *out_.conferences;
    uint32_t number = 0;
    for (const Conference& c : conferences_) {
      w.text(id("CONF", ++number, 6));
      w.text(child_id(c.child));
      w.text(kConferenceType[c.type]);
      date_cell(w, c.date);
      date_cell(w, c.shared);
      const int chair = c.source == kFromCp    ? cp_[c.index].iro
                        : c.source == kFromLac ? lac_[c.index].iro
                                               : pick_any(kIro);
      w.text(worker_name(chair));
      w.text(kTeamName[team_of(c.source)]);
      w.text(worker_name(worker_of(c.source, c.index)));
      w.end_row();
    }
  }

  const Authority& la_;
  const Practice& p_;
  const WorkCalendar& cal_;
  const Day today_;
  Outputs& out_;
  Rng rng_;
  uint32_t next_child_number_;
  char id_buffer_[64];
  double bad_cell_rate_ = 0;  // per date cell of the file being written

  std::vector<Child> children_;
  std::vector<Referral> referrals_;
  std::vector<Assessment> assessments_;
  std::vector<Section47> section47_;
  std::vector<CpPlan> cp_;
  size_t current_cp_ = 0;  // cp_[0, current_cp_) are current plans, the rest ended
  std::vector<LookedAfter> lac_;
  size_t current_lac_ = 0;
  std::vector<CareLeaver> care_leavers_;
  std::vector<CinEpisode> cin_;
  std::vector<Conference> conferences_;
  std::vector<Visit> visits_;
  std::vector<Worker> workers_;
  std::vector<std::string> managers_;
  std::array<std::vector<int>, kTeamCount> team_workers_;
  std::array<std::vector<double>, kTeamCount> team_cumulative_;
  std::vector<OpenCase> open_;
};

// ---------------------------------------------------------------------------------------------

Authority one_authority(uint64_t seed) {
  Authority la;
  la.referrals_per_year = 3000;
  la.cin = 1400;
  la.cp = 320;
  la.cla = 450;
  la.care_leavers = 250;
  uint64_t s = seed;
  la.seed = splitmix64(s);
  return la;
}

double clamp01(double x, double lo = 0.3, double hi = 0.99) { return std::min(hi, std::max(lo, x)); }

// All 152 authorities: sizes drawn around the England totals (650,000 referrals a year, 400,000
// children in need, 50,000 child protection plans, 83,000 children in care, 47,000 care leavers),
// each with its own practice.
std::vector<Authority> england(uint64_t seed) {
  constexpr int kAuthorities = 152;
  uint64_t s = seed ^ 0x5eed0e17a11a5ULL;
  Rng rng(splitmix64(s));
  std::vector<Authority> las(kAuthorities);
  std::vector<std::array<double, 5>> weights(kAuthorities);
  std::array<double, 5> totals{};
  for (int i = 0; i < kAuthorities; ++i) {
    const double size = det_exp(0.55 * rng.normal());
    for (int k = 0; k < 5; ++k) {
      weights[i][k] = size * (0.8 + 0.4 * rng.uniform());
      totals[k] += weights[i][k];
    }
  }
  constexpr double kEngland[5] = {650000, 400000, 50000, 83000, 47000};
  for (int i = 0; i < kAuthorities; ++i) {
    Authority& la = las[i];
    const int code = 201 + 4 * i + static_cast<int>(rng.below(4));
    la.prefix = std::to_string(code) + "-";
    la.referrals_per_year = kEngland[0] * weights[i][0] / totals[0];
    la.cin = static_cast<int>(std::lround(kEngland[1] * weights[i][1] / totals[1]));
    la.cp = static_cast<int>(std::lround(kEngland[2] * weights[i][2] / totals[2]));
    la.cla = static_cast<int>(std::lround(kEngland[3] * weights[i][3] / totals[3]));
    la.care_leavers = static_cast<int>(std::lround(kEngland[4] * weights[i][4] / totals[4]));
    Practice& p = la.practice;
    const double quality = 0.5 * rng.normal();  // a good authority is good at most things
    auto vary = [&](double base, double spread) {
      return clamp01(base + spread * (quality + 0.7 * rng.normal()));
    };
    p.assessment_on_time = vary(0.84, 0.06);
    p.cin_plan_on_time = vary(0.8, 0.07);
    p.icpc_on_time = vary(0.78, 0.08);
    p.review_on_time = vary(0.9, 0.04);
    p.cp_visit_on_time = vary(0.88, 0.05);
    p.lac_visit_on_time = vary(0.9, 0.04);
    p.iha_on_time = vary(0.7, 0.1);
    p.rha_on_time = vary(0.88, 0.05);
    p.rereferral = clamp01(0.22 - 0.05 * (quality + 0.7 * rng.normal()), 0.08, 0.4);
    p.repeat_cp = clamp01(0.23 - 0.05 * (quality + 0.7 * rng.normal()), 0.08, 0.4);
    p.report_on_time = vary(0.78, 0.08);
    p.supervision_on_time = vary(0.85, 0.06);
    p.pathway_current = vary(0.84, 0.06);
    p.seen_alone = vary(0.66, 0.08);
    p.worker_churn = clamp01(1.0 - 0.2 * quality, 0.5, 1.0);
    uint64_t t = seed + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ULL;
    la.seed = splitmix64(t) ^ splitmix64(s);
  }
  return las;
}

}  // namespace

std::string generate(const GenOptions& options, std::vector<FileStats>& stats) {
  const Day today = options.as_of;
  // Working days from well before the oldest date written to after the latest booked meeting.
  const WorkCalendar calendar(today - 366 * 25, today + 800);

  auto open = [&](const char* name, CsvWriter::Options o) {
    return std::make_unique<CsvWriter>(options.out_dir + "/" + name, o);
  };
  const CsvWriter::Options lf{false, false}, crlf{true, false}, bom_crlf{true, true};
  Outputs out;
  out.referrals = open("referrals.csv", crlf);
  out.assessments = open("assessments.csv", crlf);
  out.section47 = open("section47.csv", lf);
  out.cin = open("children_in_need.csv", crlf);
  out.cp = open("child_protection.csv", lf);
  out.cla = open("children_in_care.csv", bom_crlf);
  out.care_leavers = open("care_leavers.csv", crlf);
  out.allocations = open("allocations.csv", lf);
  out.worker_changes = open("worker_changes.csv", lf);
  out.supervision = open("case_supervision.csv", lf);
  out.visits = open("visits.csv", lf);
  out.conferences = open("conferences.csv", crlf);
  for (CsvWriter* w : out.all()) {
    if (!w->ok()) return "cannot write " + w->path();
  }

  constexpr std::string_view kChild[] = {"Child Unique ID", "Gender", "Ethnicity", "Date of Birth",
                                         "Age of Child (Years)"};
  out.referrals->header({"Child Unique ID", "Referral ID", "Gender", "Ethnicity", "Date of Birth",
                         "Age of Child (Years)", "Date of referral", "Referral Source",
                         "Referral NFA?", "Number of Referrals in Last 12 Months",
                         "Date of Previous Referral", "Allocated Team", "Allocated Worker"});
  out.assessments->header({"Child Unique ID", "Assessment ID", "Gender", "Ethnicity", "Date of Birth",
                           "Age of Child (Years)", "Date of referral",
                           "Continuous Assessment Start Date",
                           "Child Seen During Continuous Assessment",
                           "Continuous Assessment Date of Authorisation",
                           "Was the child assessed as requiring LA children's social care support?",
                           "Allocated Team", "Allocated Worker"});
  out.section47->header({"Child Unique ID", "Section 47 ID", "Gender", "Ethnicity", "Date of Birth",
                         "Age of Child (Years)",
                         "Strategy discussion initiating Section 47 Enquiry Start Date",
                         "Was an Initial Child Protection Conference deemed unnecessary?",
                         "Date of Initial Child Protection Conference",
                         "Did the Initial Child Protection Conference Result in a Child Protection Plan",
                         "Allocated Team", "Allocated Worker"});
  out.cin->header({kChild[0], kChild[1], kChild[2], kChild[3], kChild[4], "CIN Start Date",
                   "Primary Need Code", "Date Child Was Last Seen", "CIN Plan Start Date",
                   "CIN Closure Date", "Reason for Closure", "Case Status", "Allocated Team",
                   "Allocated Worker"});
  out.cp->header({"Child Unique ID", "CP Plan ID", "Gender", "Ethnicity", "Date of Birth",
                  "Age of Child (Years)", "Child Protection Plan Start Date",
                  "Initial Category of Abuse", "Latest Category of Abuse",
                  "Date of the Last Statutory Visit", "Was the Child Seen Alone?",
                  "Date of latest review conference", "Child Protection Plan End Date",
                  "Number of Previous Child Protection Plans", "Allocated Team", "Allocated Worker"});
  out.cla->header({kChild[0], kChild[1], kChild[2], kChild[3], kChild[4],
                   "Date Started to be Looked After", "Child's Legal Status",
                   "Date of First Statutory Review", "Date of Latest Statutory Review",
                   "Date of Last Social Work Visit", "Date of Last Health Assessment",
                   "Date of Last Dental Check", "Number of Placements in the Last 12 months",
                   "Date Ceased to be Looked After", "Start Date of Most Recent Placement",
                   "Placement Type", "Long-term Placement Agreed?", "Allocated Team",
                   "Allocated Worker", "Independent Reviewing Officer"});
  out.care_leavers->header({kChild[0], kChild[1], kChild[2], kChild[3], kChild[4],
                            "Allocated Personal Advisor", "Eligibility Category",
                            "Latest Pathway Plan Review Date", "LA in Touch",
                            "Latest Date of Contact", "Type of Accommodation",
                            "Suitability of Accommodation", "Activity Status", "Allocated Team"});
  out.allocations->header({"Allocation ID", "Child Unique ID", "Case Type", "Worker ID",
                           "Allocated Worker", "Allocated Team", "Role", "Date Allocated"});
  out.worker_changes->header({"Change ID", "Child Unique ID", "Date of Change", "Previous Worker",
                              "New Worker", "Reason for Change", "Allocated Team"});
  out.supervision->header({"Child Unique ID", "Case Type", "Allocated Team", "Allocated Worker",
                           "Team Manager", "Date Case Allocated", "Date of Last Case Supervision"});
  out.visits->header({"Visit ID", "Child Unique ID", "Visit Type", "Date of Visit", "Child Seen?",
                      "Child Seen Alone?", "Allocated Team", "Allocated Worker"});
  out.conferences->header({"Conference ID", "Child Unique ID", "Conference Type", "Conference Date",
                           "Date Report Shared with Parents", "Conference Chair", "Allocated Team",
                           "Allocated Worker"});

  const std::vector<Authority> authorities = options.profile == Profile::kEngland
                                                 ? england(options.seed)
                                                 : std::vector<Authority>{one_authority(options.seed)};
  for (const Authority& la : authorities) {
    AuthorityGenerator(la, calendar, today, out).run();
  }

  std::string error;
  for (CsvWriter* w : out.all()) {
    const bool ok = w->close();
    stats.push_back({w->path(), w->rows(), w->bytes(), w->bad_rows()});
    if (!ok && error.empty()) error = "error writing " + w->path();
  }
  return error;
}

}  // namespace casewatch::gen
