#include "core/time_format.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

#include <date/date.h>

namespace sless::timefmt {
namespace {

std::tm to_tm(int64_t ms) {
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

int millis(int64_t ms) { return static_cast<int>(((ms % 1000) + 1000) % 1000); }

// date::parse (3.0.1) converts its seconds variable even when reading the seconds failed, and
// that variable is uninitialized then: undefined behaviour (found by fuzz_text). So a format with
// %S is tried only when its seconds will read: in H:M:S formats the character after the text's
// second ':' (where %S starts once the fields before it matched) is a digit or '.'; the basic
// format must have its exact shape.
bool seconds_readable(std::string_view text, std::string_view fmt) {
  if (fmt.find("%S") == std::string_view::npos) {
    return true;
  }
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (fmt.find("%M%S") != std::string_view::npos) {
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
      return false;
    }
    for (size_t i = 0; i < 15; ++i) {
      if (i != 8 && !digit(text[i])) {
        return false;
      }
    }
    return true;
  }
  auto first = text.find(':');
  auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    return true;  // parsing stops at the missing ':' before %S
  }
  return second + 1 < text.size() && (digit(text[second + 1]) || text[second + 1] == '.');
}

template <class Fmt>
std::optional<int64_t> try_parse(std::string_view text, const char* fmt) {
  if (!seconds_readable(text, fmt)) {
    return std::nullopt;
  }
  std::istringstream in{std::string(text)};
  Fmt tp;
  in >> date::parse(fmt, tp);
  if (in.fail()) {
    return std::nullopt;
  }
  in.peek();
  if (!in.eof()) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

}  // namespace

std::string iso8601_ms(int64_t ms) {
  std::tm tm = to_tm(ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis(ms));
  return buf;
}

std::string iso8601(int64_t ms) {
  std::tm tm = to_tm(ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string iso8601_basic(int64_t ms) {
  std::tm tm = to_tm(ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string rfc822(int64_t ms) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = to_tm(ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

namespace {

// The instants parse() accepts: years 0000-9999, what the formatters write and read back.
constexpr int64_t kMinMs = -62167219200000;   // 0000-01-01T00:00:00Z
constexpr int64_t kEndMs = 253402300800000;   // 10000-01-01T00:00:00Z

std::optional<int64_t> in_range(std::optional<int64_t> ms) {
  if (ms && (*ms < kMinMs || *ms >= kEndMs)) return std::nullopt;
  return ms;
}

std::optional<int64_t> parse_any(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) {
    return std::nullopt;
  }
  // Epoch seconds, possibly fractional.
  bool numeric = true;
  for (char c : text) {
    numeric = numeric && ((c >= '0' && c <= '9') || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+');
  }
  if (numeric) {
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    // Out-of-range values never reach the integer conversion (which would be undefined).
    if (ec == std::errc() && p == text.data() + text.size() && v >= kMinMs / 1000.0 && v < kEndMs / 1000.0) {
      return static_cast<int64_t>(v * 1000.0 + (v >= 0 ? 0.5 : -0.5));
    }
    return std::nullopt;
  }
  using Ms = date::sys_time<std::chrono::milliseconds>;
  for (const char* fmt : {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%Ez", "%Y-%m-%dT%H:%M:%S%z",
                          "%Y-%m-%dT%H:%MZ", "%Y%m%dT%H%M%SZ", "%Y-%m-%d"}) {
    if (auto v = try_parse<Ms>(text, fmt)) {
      return v;
    }
  }
  for (const char* fmt : {"%a, %d %b %Y %H:%M:%S GMT", "%a, %d %b %Y %H:%M:%S %Z",
                          "%d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT"}) {
    if (auto v = try_parse<date::sys_seconds>(text, fmt)) {
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parse(std::string_view text) { return in_range(parse_any(text)); }

}  // namespace sless::timefmt
