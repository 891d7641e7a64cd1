// EventBridge event patterns and schedule expressions.
#include <ctime>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "services/events/pattern.h"

using nlohmann::json;
using sless::services::events::check_pattern;
using sless::services::events::matches;
using sless::services::events::Schedule;

namespace {

const json kEvent = json::parse(R"({
  "source": "shop.orders", "detail-type": "OrderPlaced", "region": "us-east-1",
  "detail": {"total": 42.5, "items": ["book", "pen"], "customer": {"tier": "gold", "ip": "10.0.3.7"},
             "note": null, "sku": "BK-2001.png"}
})");

bool m(const char* pattern) { return matches(json::parse(pattern), kEvent); }

int64_t at(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace

TEST_CASE("event patterns: literals, nesting, arrays", "[events]") {
  CHECK(m(R"({"source": ["shop.orders"]})"));
  CHECK_FALSE(m(R"({"source": ["shop.users"]})"));
  CHECK(m(R"({"source": ["a", "shop.orders"], "detail-type": ["OrderPlaced"]})"));
  CHECK(m(R"({"detail": {"customer": {"tier": ["gold"]}}})"));
  CHECK(m(R"({"detail": {"items": ["pen"]}})"));          // any element of an array field
  CHECK(m(R"({"detail": {"total": [42.5]}})"));           // numbers compare as numbers
  CHECK(m(R"({"detail": {"note": [null]}})"));
  CHECK_FALSE(m(R"({"detail": {"missing": ["x"]}})"));
}

TEST_CASE("event patterns: content filters", "[events]") {
  CHECK(m(R"({"source": [{"prefix": "shop."}]})"));
  CHECK(m(R"({"detail": {"sku": [{"suffix": ".png"}]}})"));
  CHECK(m(R"({"detail-type": [{"equals-ignore-case": "orderplaced"}]})"));
  CHECK(m(R"({"source": [{"prefix": {"equals-ignore-case": "SHOP."}}]})"));
  CHECK(m(R"({"detail": {"customer": {"tier": [{"anything-but": ["silver", "bronze"]}]}}})"));
  CHECK_FALSE(m(R"({"detail": {"customer": {"tier": [{"anything-but": "gold"}]}}})"));
  CHECK(m(R"({"source": [{"anything-but": {"prefix": "aws."}}]})"));
  CHECK(m(R"({"detail": {"total": [{"numeric": [">", 40, "<=", 42.5]}]}})"));
  CHECK_FALSE(m(R"({"detail": {"total": [{"numeric": [">", 50]}]}})"));
  CHECK(m(R"({"detail": {"customer": {"ip": [{"cidr": "10.0.0.0/16"}]}}})"));
  CHECK_FALSE(m(R"({"detail": {"customer": {"ip": [{"cidr": "10.1.0.0/16"}]}}})"));
  CHECK(m(R"({"detail": {"sku": [{"wildcard": "BK-*.png"}]}})"));
  CHECK(m(R"({"detail": {"missing": [{"exists": false}]}})"));
  CHECK_FALSE(m(R"({"detail": {"total": [{"exists": false}]}})"));
  CHECK(m(R"({"detail": {"total": [{"exists": true}]}})"));
  CHECK(m(R"({"$or": [{"source": ["nope"]}, {"detail": {"items": ["book"]}}]})"));
  CHECK_FALSE(m(R"({"$or": [{"source": ["nope"]}, {"detail": {"items": ["mug"]}}]})"));
}

TEST_CASE("event patterns: invalid ones are refused with a reason", "[events]") {
  CHECK_FALSE(check_pattern(json::parse(R"({"source": ["a"]})")));
  CHECK(check_pattern(json::parse(R"(["a"])")));
  CHECK(check_pattern(json::parse(R"({"source": "a"})")));
  CHECK(check_pattern(json::parse(R"({"source": []})")));
  CHECK(check_pattern(json::parse(R"({"source": [{"prefix": 5}]})")));
  CHECK(check_pattern(json::parse(R"({"source": [{"numeric": [">"]}]})")));
  CHECK(check_pattern(json::parse(R"({"source": [{"numeric": ["!=", 5]}]})")));
  CHECK(check_pattern(json::parse(R"({"source": [{"exists": "yes"}]})")));
  CHECK(check_pattern(json::parse(R"({"source": [{"magic": 1}]})")));
}

TEST_CASE("schedule expressions: rates count from creation", "[events]") {
  auto s = Schedule::parse("rate(5 minutes)");
  REQUIRE(s);
  int64_t created = at(2025, 1, 1, 10, 0) + 12345;
  CHECK(s->next_after(created, created) == created + 5 * 60000);
  CHECK(s->next_after(created + 5 * 60000, created) == created + 10 * 60000);
  CHECK(Schedule::parse("rate(1 hour)"));
  CHECK(Schedule::parse("rate(2 days)"));
  CHECK_FALSE(Schedule::parse("rate(1 minutes)"));  // singular for 1
  CHECK_FALSE(Schedule::parse("rate(5 minute)"));
  CHECK_FALSE(Schedule::parse("rate(0 minutes)"));
  CHECK_FALSE(Schedule::parse("rate(5 weeks)"));
  CHECK_FALSE(Schedule::parse("every minute"));
}

TEST_CASE("schedule expressions: cron", "[events]") {
  auto every15 = Schedule::parse("cron(0/15 * * * ? *)");
  REQUIRE(every15);
  CHECK(every15->next_after(at(2025, 3, 1, 10, 7), 0) == at(2025, 3, 1, 10, 15));
  CHECK(every15->next_after(at(2025, 3, 1, 10, 15), 0) == at(2025, 3, 1, 10, 30));
  auto weekdays = Schedule::parse("cron(0 18 ? * MON-FRI *)");
  REQUIRE(weekdays);
  // 2025-03-01 is a Saturday: the next run is Monday the 3rd at 18:00.
  CHECK(weekdays->next_after(at(2025, 3, 1, 12, 0), 0) == at(2025, 3, 3, 18, 0));
  auto last = Schedule::parse("cron(30 0 L * ? *)");
  REQUIRE(last);
  CHECK(last->next_after(at(2024, 2, 10, 0, 0), 0) == at(2024, 2, 29, 0, 30));  // leap year
  auto nth = Schedule::parse("cron(0 9 ? * 3#2 *)");  // the second Tuesday
  REQUIRE(nth);
  CHECK(nth->next_after(at(2025, 3, 1, 0, 0), 0) == at(2025, 3, 11, 9, 0));
  auto yearly = Schedule::parse("cron(0 0 1 JAN ? 2026-2027)");
  REQUIRE(yearly);
  CHECK(yearly->next_after(at(2025, 6, 1, 0, 0), 0) == at(2026, 1, 1, 0, 0));
  CHECK(yearly->next_after(at(2027, 6, 1, 0, 0), 0) == 0);  // never again
  CHECK_FALSE(Schedule::parse("cron(0 18 * * MON-FRI *)"));  // both day fields set
  CHECK_FALSE(Schedule::parse("cron(0 18 ? * *)"));          // five fields
  CHECK_FALSE(Schedule::parse("cron(61 * * * ? *)"));
}
