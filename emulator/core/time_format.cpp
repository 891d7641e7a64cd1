#include "core/time_format.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <date/date.h>

namespace sless::timefmt {
namespace {

std::tm to_tm(int64_t ms) {
  // Floor division that cannot overflow (ms - 999 would, near INT64_MIN).
  time_t secs = static_cast<time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

int millis(int64_t ms) { return static_cast<int>(((ms % 1000) + 1000) % 1000); }

}  // namespace

namespace {

// The fixed-width fields of the formats below, written without snprintf (a formatted timestamp is
// on the path of every S3 GET and of most list answers). Years outside 0..9999 fall back to it.
char* digits(char* p, int v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

bool four_digit_year(const std::tm& tm) { return tm.tm_year >= -1900 && tm.tm_year <= 9999 - 1900; }

// YYYY-MM-DDTHH:MM:SS (separators when `extended`), then `.mmm` when ms >= 0, then Z.
std::string iso(const std::tm& tm, bool extended, int ms) {
  char buf[32];
  char* p = digits(buf, tm.tm_year + 1900, 4);
  if (extended) *p++ = '-';
  p = digits(p, tm.tm_mon + 1, 2);
  if (extended) *p++ = '-';
  p = digits(p, tm.tm_mday, 2);
  *p++ = 'T';
  p = digits(p, tm.tm_hour, 2);
  if (extended) *p++ = ':';
  p = digits(p, tm.tm_min, 2);
  if (extended) *p++ = ':';
  p = digits(p, tm.tm_sec, 2);
  if (ms >= 0) {
    *p++ = '.';
    p = digits(p, ms, 3);
  }
  *p++ = 'Z';
  return std::string(buf, p);
}

}  // namespace

std::string iso8601_ms(int64_t ms) {
  std::tm tm = to_tm(ms);
  if (four_digit_year(tm)) return iso(tm, true, millis(ms));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis(ms));
  return buf;
}

std::string iso8601(int64_t ms) {
  std::tm tm = to_tm(ms);
  if (four_digit_year(tm)) return iso(tm, true, -1);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string iso8601_basic(int64_t ms) {
  std::tm tm = to_tm(ms);
  if (four_digit_year(tm)) return iso(tm, false, -1);
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
  if (four_digit_year(tm)) {
    // "Thu, 22 Jan 2015 01:22:02 GMT"
    char buf[32];
    char* p = std::copy_n(kDays[tm.tm_wday], 3, buf);
    *p++ = ',';
    *p++ = ' ';
    p = digits(p, tm.tm_mday, 2);
    *p++ = ' ';
    p = std::copy_n(kMonths[tm.tm_mon], 3, p);
    *p++ = ' ';
    p = digits(p, tm.tm_year + 1900, 4);
    *p++ = ' ';
    p = digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = digits(p, tm.tm_sec, 2);
    p = std::copy_n(" GMT", 4, p);
    return std::string(buf, p);
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

namespace {

std::optional<int64_t> in_range(std::optional<int64_t> ms) {
  if (ms && (*ms < kMinMs || *ms >= kEndMs)) return std::nullopt;
  return ms;
}

// The text formats, read strictly. (date::parse 3.0.1 reads uninitialized values and negates
// INT64_MIN on some malformed input, found by fuzz_text; date still does the calendar.)
//   ISO 8601   YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|+HH:MM|+HHMM|-..), YYYYMMDDTHHMMSSZ
//   RFC 1123   Wed, 01 May 2024 12:34:56 GMT   (weekday optional; GMT, UTC or UT)
//   RFC 850    Wednesday, 01-May-24 12:34:56 GMT
class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  bool at_end() const { return i_ == s_.size(); }

  std::optional<int64_t> iso8601() {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
    if (!digits(4, y)) return std::nullopt;
    if (!lit('-')) {  // basic: YYYYMMDDTHHMMSSZ
      if (!digits(2, mo) || !digits(2, d) || !lit('T') || !digits(2, h) || !digits(2, mi) || !digits(2, sec) ||
          !lit('Z')) {
        return std::nullopt;
      }
      return instant(y, mo, d, h, mi, sec, 0, 0);
    }
    if (!digits(2, mo) || !lit('-') || !digits(2, d)) return std::nullopt;
    if (at_end()) return instant(y, mo, d, 0, 0, 0, 0, 0);
    if (!lit('T') || !digits(2, h) || !lit(':') || !digits(2, mi)) return std::nullopt;
    if (lit(':')) {
      if (!digits(2, sec)) return std::nullopt;
      if (lit('.') && !fraction(ms)) return std::nullopt;
    }
    int offset = 0;
    if (!lit('Z')) {
      int sign = lit('+') ? 1 : lit('-') ? -1 : 0;
      int oh = 0, om = 0;
      if (sign == 0 || !digits(2, oh)) return std::nullopt;
      lit(':');  // +HH:MM or +HHMM
      if (!digits(2, om) || oh > 23 || om > 59) return std::nullopt;
      offset = sign * (oh * 60 + om);
    }
    return instant(y, mo, d, h, mi, sec, ms, offset);
  }

  std::optional<int64_t> http_date() {
    static constexpr std::string_view kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static constexpr std::string_view kLongDays[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                     "Friday", "Saturday", "Sunday"};
    bool rfc850 = false;
    if (one_of(kLongDays) >= 0) {
      rfc850 = true;
    } else if (one_of(kDays) < 0 && !(i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')) {
      return std::nullopt;
    }
    if (i_ > 0 && (!lit(',') || !lit(' '))) return std::nullopt;
    int d = 0, y = 0, h = 0, mi = 0, sec = 0;
    if (!digits(2, d) && !digits(1, d)) return std::nullopt;
    char sep = rfc850 ? '-' : ' ';
    if (!lit(sep)) return std::nullopt;
    static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int mo = one_of(kMonths) + 1;
    if (mo == 0 || !lit(sep)) return std::nullopt;
    if (rfc850) {
      if (!digits(2, y)) return std::nullopt;
      y += y < 69 ? 2000 : 1900;  // POSIX's two-digit years
    } else if (!digits(4, y)) {
      return std::nullopt;
    }
    if (!lit(' ') || !digits(2, h) || !lit(':') || !digits(2, mi) || !lit(':') || !digits(2, sec) || !lit(' ')) {
      return std::nullopt;
    }
    static constexpr std::string_view kZones[] = {"GMT", "UTC", "UT"};
    if (one_of(kZones) < 0) return std::nullopt;
    return instant(y, mo, d, h, mi, sec, 0, 0);
  }

 private:
  bool lit(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  // Exactly n digits.
  bool digits(size_t n, int& out) {
    if (s_.size() - i_ < n) return false;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s_[i_ + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i_ += n;
    out = v;
    return true;
  }

  // One or more digits of a fraction of a second; milliseconds kept, the rest truncated.
  bool fraction(int& ms) {
    size_t start = i_;
    ms = 0;
    for (; i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9'; ++i_) {
      if (i_ - start < 3) ms = ms * 10 + (s_[i_] - '0');
    }
    for (size_t k = i_ - start; k < 3; ++k) ms *= 10;
    return i_ > start;
  }

  template <size_t N>
  int one_of(const std::string_view (&words)[N]) {
    for (size_t k = 0; k < N; ++k) {
      if (s_.substr(i_, words[k].size()) == words[k]) {
        i_ += words[k].size();
        return static_cast<int>(k);
      }
    }
    return -1;
  }

  static std::optional<int64_t> instant(int y, int mo, int d, int h, int mi, int sec, int ms, int offset_minutes) {
    date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)}, date::day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
    int64_t days = date::sys_days{ymd}.time_since_epoch().count();
    int64_t secs = ((days * 24 + h) * 60 + mi) * 60 + sec - int64_t{offset_minutes} * 60;
    return secs * 1000 + ms;
  }

  std::string_view s_;
  size_t i_ = 0;
};

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
    if (ec != std::errc() || text.size() <= 4 || p != text.data() + 4 || *p != '-') {
      return std::nullopt;  // not "YYYY-MM-DD" either
    }
  }
  Reader r{text};
  auto v = r.iso8601();
  if (!v) {
    r = Reader{text};
    v = r.http_date();
  }
  return v && r.at_end() ? v : std::nullopt;
}

}  // namespace

std::optional<int64_t> parse(std::string_view text) { return in_range(parse_any(text)); }

}  // namespace sless::timefmt
