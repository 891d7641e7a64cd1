// Header lookups: case-insensitive on ASCII letters only, first match wins.
#include <catch2/catch.hpp>

#include "http/message.h"

using sless::http::Headers;

TEST_CASE("headers are found whatever the case of their name, and only by their whole name", "[http]") {
  Headers h;
  h.add("Content-Type", "application/json");
  h.add("X-Amz-Target", "DynamoDB_20120810.GetItem");
  h.add("x-amz-date", "20260101T000000Z");
  h.add("User-Agent", "boto3");         // same length as x-amz-date, another first letter
  h.add("x-amz-meta-a^b", "caret");     // '^' and '~' differ only by 0x20
  h.add("content-type", "second");      // a repeated name: the first one answers
  h.add("", "empty name");
  CHECK(h.get("content-type") == "application/json");
  CHECK(h.get("CONTENT-TYPE") == "application/json");
  CHECK(h.get("x-amz-target") == "DynamoDB_20120810.GetItem");
  CHECK(h.get("X-AMZ-DATE") == "20260101T000000Z");
  CHECK(h.get("user-agent") == "boto3");
  CHECK(h.get("x-amz-meta-a^b") == "caret");
  CHECK_FALSE(h.get("x-amz-meta-a~b"));
  CHECK_FALSE(h.get("X-Amz-Meta-A~B"));
  CHECK_FALSE(h.get("content-typ"));
  CHECK_FALSE(h.get("content-types"));
  CHECK_FALSE(h.get("zser-agent"));
  CHECK(h.get("") == "empty name");
  CHECK(h.get_or("missing", "fallback") == "fallback");
}
