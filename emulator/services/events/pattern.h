// EventBridge event patterns and schedule expressions. Pure functions; any thread.
//
// Patterns match an event (JSON) field by field: arrays of literals or of matchers
// ({"prefix"}, {"suffix"}, {"anything-but"}, {"numeric"}, {"exists"}, {"equals-ignore-case"},
// {"cidr"}, {"wildcard"}), nested objects for nested fields, and "$or" for alternatives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace sless::services::events {

// nullopt when the pattern is valid, else why not (for InvalidEventPatternException).
std::optional<std::string> check_pattern(const nlohmann::json& pattern);
bool matches(const nlohmann::json& pattern, const nlohmann::json& event);

// A parsed rate(...) or cron(...) expression.
class Schedule {
 public:
  // nullopt when the expression is not valid.
  static std::optional<Schedule> parse(const std::string& expression);
  // The first firing time strictly after `after_ms` (epoch ms), given the rule's creation time
  // (rates count from it). 0 when the schedule never fires again.
  int64_t next_after(int64_t after_ms, int64_t created_ms) const;

 private:
  bool is_rate_ = false;
  int64_t period_ms_ = 0;
  // cron fields as bitsets: minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 1-7 (SUN=1)
  uint64_t minutes_ = 0;
  uint32_t hours_ = 0;
  uint32_t days_ = 0;
  uint16_t months_ = 0;
  uint8_t weekdays_ = 0;
  bool any_day_ = true;       // day-of-month is '?' or '*'
  bool any_weekday_ = true;   // day-of-week is '?' or '*'
  bool last_day_ = false;     // 'L' in day-of-month
  int nth_weekday_ = 0;       // '3#2': the 2nd Tuesday
  int nth_which_ = 0;
  int year_from_ = 1970;
  int year_to_ = 2199;
};

}  // namespace sless::services::events
