// Timestamp parsing at the edges: what parses must be writable and read back the same.
#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "core/time_format.h"

using namespace sless;

TEST_CASE("timefmt: epoch seconds outside years 0000-9999 are rejected, not converted", "[core][time]") {
  // Found by fuzz_text: 2.0e19 ms does not fit int64; the conversion was undefined.
  CHECK_FALSE(timefmt::parse("20211299999999999").has_value());
  CHECK_FALSE(timefmt::parse("1e300").has_value());
  CHECK_FALSE(timefmt::parse("-1e300").has_value());
  CHECK_FALSE(timefmt::parse("253402300800").has_value());  // 10000-01-01
  CHECK_FALSE(timefmt::parse("-62167219201").has_value());  // before 0000-01-01
  CHECK(timefmt::parse("253402300799") == 253402300799000);
  CHECK(timefmt::parse("-62167219200") == -62167219200000);
  CHECK(timefmt::parse("1714566896.5") == 1714566896500);
}

TEST_CASE("timefmt: the extreme instants round-trip through ISO 8601", "[core][time]") {
  for (int64_t ms : {int64_t{-62167219200000}, int64_t{0}, int64_t{253402300799999}}) {
    CHECK(timefmt::parse(timefmt::iso8601_ms(ms)) == ms);
  }
  CHECK(timefmt::iso8601_ms(253402300799999) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("timefmt: text whose seconds field is missing or malformed is rejected", "[core][time]") {
  // Found by fuzz_text: date::parse read an uninitialized seconds value when %S did not match,
  // and negated INT64_MIN for an offset sign without digits.
  CHECK_FALSE(timefmt::parse("20240527T499Z").has_value());
  CHECK_FALSE(timefmt::parse("2024-05-01T12:34:Z").has_value());
  CHECK_FALSE(timefmt::parse("2024-05-01T12:34:").has_value());
  CHECK_FALSE(timefmt::parse("Wed, 01 May 2024 12:34:xx GMT").has_value());
  CHECK_FALSE(timefmt::parse("2024-05-01T12:34:524-\xb1" "05-01T").has_value());
  CHECK_FALSE(timefmt::parse("2024-05-01T12:34:56+").has_value());
  CHECK_FALSE(timefmt::parse("2024-02-30T00:00:00Z").has_value());
  CHECK_FALSE(timefmt::parse("2024-05-01T24:00:00Z").has_value());
  CHECK_FALSE(timefmt::parse("Wed, 01 May 2024 12:34:56 EST").has_value());
  CHECK(timefmt::parse("20240501T123456Z") == 1714566896000);
  CHECK(timefmt::parse("2024-05-01T12:34:56.5+02:00") == 1714559696500);
  CHECK(timefmt::parse("2024-05-01T12:34Z") == 1714566840000);
  CHECK(timefmt::parse("2024-05-01T12:34:56.123456Z") == 1714566896123);
  CHECK(timefmt::parse("2024-05-01T14:34:56-0200") == 1714581296000);
  CHECK(timefmt::parse("2024-05-01") == 1714521600000);
  CHECK(timefmt::parse(" 1 May 2024 12:34:56 UTC ") == 1714566896000);
  CHECK(timefmt::parse("Wed, 01 May 2024 12:34:56 GMT") == 1714566896000);
  CHECK(timefmt::parse("Wednesday, 01-May-24 12:34:56 GMT") == 1714566896000);
}

namespace {

// The formats as snprintf writes them from gmtime_r, the reference for the digit writer.
std::string reference(const char* format, int64_t ms, bool rfc) {
  time_t secs = static_cast<time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[80];
  if (rfc) {
    std::snprintf(buf, sizeof buf, format, kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
  } else {
    std::snprintf(buf, sizeof buf, format, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                  tm.tm_sec, static_cast<int>(((ms % 1000) + 1000) % 1000));
  }
  return buf;
}

}  // namespace

TEST_CASE("timefmt: every format writes what snprintf would, across the years 0000-9999", "[core][time]") {
  std::vector<int64_t> instants = {timefmt::kMinMs, timefmt::kMinMs + 1, -1, 0, 1, 999, 1000, 951782400000,
                                   1714566896123, timefmt::kEndMs - 1};
  uint64_t x = 88172645463325252ull;  // xorshift: spread instants over the whole range
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    instants.push_back(timefmt::kMinMs + static_cast<int64_t>(x % static_cast<uint64_t>(timefmt::kEndMs - timefmt::kMinMs)));
  }
  for (int64_t ms : instants) {
    INFO(ms);
    CHECK(timefmt::iso8601_ms(ms) == reference("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", ms, false));
    CHECK(timefmt::iso8601(ms) == reference("%04d-%02d-%02dT%02d:%02d:%02dZ", ms, false));
    CHECK(timefmt::iso8601_basic(ms) == reference("%04d%02d%02dT%02d%02d%02dZ", ms, false));
    CHECK(timefmt::rfc822(ms) == reference("%s, %02d %s %04d %02d:%02d:%02d GMT", ms, true));
  }
  CHECK(timefmt::rfc822(1421889722000) == "Thu, 22 Jan 2015 01:22:02 GMT");
  CHECK(timefmt::iso8601_basic(1714566896000) == "20240501T123456Z");
}
