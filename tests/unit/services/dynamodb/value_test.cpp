// Attribute values: validation messages, canonical numbers, sizes, equality and ordering.
#include <catch2/catch.hpp>

#include "services/dynamodb/value.h"

using sless::services::dynamodb::Json;
namespace ddb = sless::services::dynamodb;

TEST_CASE("numbers are canonicalized and compared by value", "[dynamodb]") {
  Json v = Json::parse(R"({"N": "001.500"})");
  REQUIRE_FALSE(ddb::normalize_value(v));
  CHECK(v["N"] == "1.5");
  CHECK(*ddb::compare_values(Json::parse(R"({"N":"10"})"), Json::parse(R"({"N":"9"})")) > 0);
  CHECK(*ddb::compare_values(Json::parse(R"({"N":"-10"})"), Json::parse(R"({"N":"-9"})")) < 0);
  CHECK(ddb::values_equal(Json::parse(R"({"NS":["1","2"]})"), Json::parse(R"({"NS":["2","1"]})")));
  CHECK_FALSE(ddb::compare_values(Json::parse(R"({"N":"1"})"), Json::parse(R"({"S":"1"})")));
}

TEST_CASE("invalid values get DynamoDB's messages", "[dynamodb]") {
  auto message = [](const char* text) {
    Json v = Json::parse(text);
    auto e = ddb::normalize_value(v);
    return e ? *e : std::string();
  };
  CHECK(message(R"({})") == "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  CHECK(message(R"({"S":"a","N":"1"})") ==
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");
  CHECK(message(R"({"SS":[]})") == "One or more parameter values were invalid: An string set  may not be empty");
  CHECK(message(R"({"SS":["a","a"]})") ==
        "One or more parameter values were invalid: Input collection [a, a] contains duplicates.");
  CHECK(message(R"({"NULL":false})") ==
        "One or more parameter values were invalid: Null attribute value types must have the value of true");
  CHECK(message(R"({"N":"abc"})") == "A value provided cannot be converted into a number");
  CHECK(message(R"({"N":"1e200"})").rfind("Number overflow", 0) == 0);
  CHECK(message(R"({"NS":["1","1.0"]})") == "Input collection contains duplicates");
}

TEST_CASE("item sizes follow DynamoDB's rules", "[dynamodb]") {
  Json item = Json::parse(R"({"pk":{"S":"abc"},"n":{"N":"123"},"b":{"BOOL":true},"l":{"L":[{"S":"x"}]}})");
  size_t size = 0;
  REQUIRE_FALSE(ddb::normalize_item(item, &size));
  // pk: 2 + 3; n: 1 + 3 (two digit pairs and an exponent byte); b: 1 + 1; l: 1 + 3 + 1 + 1.
  CHECK(size == 5 + 4 + 2 + 6);
  CHECK(ddb::item_size(item) == size);
}

TEST_CASE("key encodings sort as the values do", "[dynamodb]") {
  auto enc = [](ddb::Type t, const char* v) {
    std::string out;
    REQUIRE(ddb::append_key(out, t, Json(v)));
    return out;
  };
  CHECK(enc(ddb::Type::kN, "-5") < enc(ddb::Type::kN, "-4.5"));
  CHECK(enc(ddb::Type::kN, "-4.5") < enc(ddb::Type::kN, "0"));
  CHECK(enc(ddb::Type::kN, "2") < enc(ddb::Type::kN, "10"));
  CHECK(enc(ddb::Type::kS, "a") < enc(ddb::Type::kS, "ab"));
  CHECK(enc(ddb::Type::kB, "AQ==") < enc(ddb::Type::kB, "Ag=="));
}
