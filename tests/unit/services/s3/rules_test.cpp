#include <catch2/catch.hpp>

#include "services/s3/common.h"
#include "services/s3/cors.h"
#include "services/s3/lifecycle.h"
#include "services/s3/notifications.h"

using namespace sless::services::s3;
using nlohmann::json;

TEST_CASE("CORS rules match origin, method and requested headers", "[s3]") {
  json config = {{"CORSRules",
                  {{{"AllowedOrigins", {"https://*.example.com"}},
                    {"AllowedMethods", {"PUT"}},
                    {"AllowedHeaders", {"content-type", "x-amz-*"}}},
                   {{"AllowedOrigins", {"*"}}, {"AllowedMethods", {"GET"}}}}}};
  CHECK_FALSE(validate_cors(config).has_value());
  CHECK(find_cors_rule(config, "https://cms.example.com", "PUT", {"Content-Type", "x-amz-meta-a"}) ==
        &config["CORSRules"][0]);
  CHECK(find_cors_rule(config, "https://cms.example.com", "PUT", {"authorization"}) == nullptr);
  CHECK(find_cors_rule(config, "https://other.org", "PUT", {}) == nullptr);
  CHECK(find_cors_rule(config, "https://other.org", "GET", {}) == &config["CORSRules"][1]);
  sless::http::Headers h;
  add_cors_response_headers(config["CORSRules"][1], "https://other.org", false, "", h);
  CHECK(h.get_or("access-control-allow-origin", "") == "*");
  CHECK(validate_cors(json{{"CORSRules", {{{"AllowedOrigins", {"*"}}, {"AllowedMethods", {"PATCH"}}}}}})->code ==
        "InvalidRequest");
  CHECK(validate_cors(json::object())->code == "MalformedXML");
}

TEST_CASE("lifecycle rules select objects and compute expiry at midnight UTC", "[s3]") {
  json rule = {{"ID", "r"}, {"Status", "Enabled"},
               {"Filter", {{"And", {{"Prefix", "logs/"}, {"Tags", {{{"Key", "t"}, {"Value", "1"}}}}}}}},
               {"Expiration", {{"Days", 1}}}};
  CHECK_FALSE(validate_lifecycle(json{{"Rules", {rule}}}).has_value());
  CHECK(lifecycle_rule_applies(rule, "logs/a", {{"t", "1"}}, 10));
  CHECK_FALSE(lifecycle_rule_applies(rule, "logs/a", {}, 10));
  CHECK_FALSE(lifecycle_rule_applies(rule, "img/a", {{"t", "1"}}, 10));
  int64_t created = 1700000000000;  // 2023-11-14T22:13:20Z
  CHECK(lifecycle_expiry(rule, created) == 1700092800000);  // 2023-11-16T00:00:00Z
  json disabled = rule;
  disabled["Status"] = "Disabled";
  CHECK_FALSE(lifecycle_rule_applies(disabled, "logs/a", {{"t", "1"}}, 10));
  json bad = rule;
  bad["Expiration"] = {{"Days", 0}};
  CHECK(validate_lifecycle(json{{"Rules", {bad}}})->code == "InvalidArgument");
  bad["Expiration"] = {{"Date", 1700000000.0}};
  CHECK(validate_lifecycle(json{{"Rules", {bad}}})->code == "InvalidArgument");  // not midnight
  json none = {{"ID", "n"}, {"Status", "Enabled"}, {"Filter", json::object()}};
  CHECK(validate_lifecycle(json{{"Rules", {none}}})->code == "InvalidRequest");
}

TEST_CASE("notification configurations validate and match events by type and key", "[s3]") {
  json config = {{"QueueConfigurations",
                  {{{"QueueArn", "arn:aws:sqs:us-east-1:000000000000:q"},
                    {"Events", {"s3:ObjectCreated:*"}},
                    {"Filter", {{"Key", {{"FilterRules", {{{"Name", "suffix"}, {"Value", ".jpg"}}}}}}}}}}},
                 {"TopicConfigurations",
                  {{{"Id", "t"}, {"TopicArn", "arn:aws:sns:us-east-1:000000000000:t"},
                    {"Events", {"s3:ObjectRemoved:Delete"}}}}}};
  REQUIRE_FALSE(validate_notification(config).has_value());
  CHECK_FALSE(config["QueueConfigurations"][0]["Id"].get<std::string>().empty());
  ObjectEvent e;
  e.event_name = "ObjectCreated:Put";
  e.key = "photos/cat.jpg";
  e.bucket = "b";
  auto targets = match_notification(config, e);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].kind == EventTarget::Kind::kQueue);
  e.key = "photos/cat.png";
  CHECK(match_notification(config, e).empty());
  e.event_name = "ObjectRemoved:Delete";
  REQUIRE(match_notification(config, e).size() == 1);
  CHECK(match_notification(config, e)[0].configuration_id == "t");
  json message = event_message(targets[0], e);
  CHECK(message["Records"][0]["eventName"] == "ObjectRemoved:Delete");
  CHECK(message["Records"][0]["s3"]["bucket"]["arn"] == "arn:aws:s3:::b");
  json bad = {{"QueueConfigurations", {{{"QueueArn", "arn:aws:sns:us-east-1:1:q"}, {"Events", {"s3:ObjectCreated:*"}}}}}};
  CHECK(validate_notification(bad)->code == "InvalidArgument");
}

TEST_CASE("ranges and conditions follow S3", "[s3]") {
  auto r = parse_range("bytes=0-9", 100);
  REQUIRE(r);
  CHECK((r->start == 0 && r->length == 10));
  r = parse_range("bytes=-5", 100);
  CHECK((r->start == 95 && r->length == 5));
  r = parse_range("bytes=90-200", 100);
  CHECK((r->start == 90 && r->length == 10));
  CHECK(parse_range("bytes=100-", 100)->unsatisfiable);
  CHECK_FALSE(parse_range("bytes=5-1", 100).has_value());
  CHECK_FALSE(parse_range("bytes=0-1,5-6", 100).has_value());
  CHECK_FALSE(parse_range("items=0-1", 100).has_value());

  ObjectRecord rec;
  rec.etag = "abc";
  rec.last_modified_ms = 1000000;
  Conditions c;
  c.if_match = "\"abc\"";
  CHECK(evaluate_conditions(c, rec).status == 0);
  c.if_match = "\"zzz\", \"abc\"";
  CHECK(evaluate_conditions(c, rec).status == 0);
  c.if_match = "\"zzz\"";
  CHECK(evaluate_conditions(c, rec).status == 412);
  c = Conditions{};
  c.if_none_match = "*";
  CHECK(evaluate_conditions(c, rec).status == 304);
  c = Conditions{};
  c.if_modified_since = 1000.0;
  CHECK(evaluate_conditions(c, rec).status == 304);
  c.if_modified_since = 999.0;
  CHECK(evaluate_conditions(c, rec).status == 0);
  c = Conditions{};
  c.if_unmodified_since = 999.0;
  CHECK(evaluate_conditions(c, rec).status == 412);
  c.if_match = "\"abc\"";  // If-Match true wins over If-Unmodified-Since false
  CHECK(evaluate_conditions(c, rec).status == 0);
}
