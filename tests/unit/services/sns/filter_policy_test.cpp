#include <catch2/catch.hpp>

#include "services/sns/filter_policy.h"

using namespace sless::services::sns;
using nlohmann::json;

namespace {
bool m(const char* policy, const char* doc) { return matches(json::parse(policy), json::parse(doc)); }
}  // namespace

TEST_CASE("filter policy operators", "[sns]") {
  CHECK(m(R"({"a":["x","y"]})", R"({"a":"y"})"));
  CHECK_FALSE(m(R"({"a":["x"]})", R"({"a":"z"})"));
  CHECK_FALSE(m(R"({"a":["x"]})", R"({})"));
  CHECK(m(R"({"a":[5]})", R"({"a":5.0})"));
  CHECK_FALSE(m(R"({"a":[5]})", R"({"a":"5"})"));
  CHECK(m(R"({"a":[{"prefix":"ab"}]})", R"({"a":"abc"})"));
  CHECK(m(R"({"a":[{"suffix":"bc"}]})", R"({"a":"abc"})"));
  CHECK(m(R"({"a":[{"equals-ignore-case":"ABC"}]})", R"({"a":"abc"})"));
  CHECK(m(R"({"a":[{"anything-but":["x","y"]}]})", R"({"a":"z"})"));
  CHECK_FALSE(m(R"({"a":[{"anything-but":["x","y"]}]})", R"({"a":"x"})"));
  CHECK_FALSE(m(R"({"a":[{"anything-but":"x"}]})", R"({})"));
  CHECK(m(R"({"a":[{"anything-but":{"prefix":"in"}}]})", R"({"a":"out"})"));
  CHECK(m(R"({"a":[{"numeric":[">",0,"<=",5]}]})", R"({"a":5})"));
  CHECK_FALSE(m(R"({"a":[{"numeric":[">",0,"<=",5]}]})", R"({"a":6})"));
  CHECK(m(R"({"a":[{"exists":false}]})", R"({"b":1})"));
  CHECK(m(R"({"a":[{"exists":true}]})", R"({"a":"v"})"));
  CHECK(m(R"({"ip":[{"cidr":"10.0.0.0/8"}]})", R"({"ip":"10.2.3.4"})"));
  CHECK_FALSE(m(R"({"ip":[{"cidr":"10.0.0.0/8"}]})", R"({"ip":"11.2.3.4"})"));
  CHECK(m(R"({"ip":[{"cidr":"2001:db8::/32"}]})", R"({"ip":"2001:db8::1"})"));
  CHECK(m(R"({"a":[{"wildcard":"a*c"}]})", R"({"a":"abbc"})"));
  CHECK(m(R"({"a":["x"]})", R"({"a":["q","x"]})"));
  CHECK(m(R"({"$or":[{"a":["x"]},{"b":["y"]}]})", R"({"b":"y"})"));
  CHECK_FALSE(m(R"({"a":["x"],"b":["y"]})", R"({"b":"y"})"));
  CHECK(m(R"({"o":{"k":["v"],"n":{"d":[{"numeric":["=",1]}]}}})", R"({"o":{"k":"v","n":{"d":1}}})"));
  CHECK(m(R"({"o":{"k":["v"]}})", R"({"o":[{"k":"z"},{"k":"v"}]})"));
  CHECK(m(R"({"o":{"k":[{"exists":false}]}})", R"({})"));
}

TEST_CASE("filter policy validation", "[sns]") {
  CHECK_FALSE(validate_filter_policy(json::parse(R"({"a":["x",{"numeric":[">=",1,"<",2]}]})"), false));
  CHECK(validate_filter_policy(json::parse(R"({"a":[]})"), false));
  CHECK(validate_filter_policy(json::parse(R"({"a":[{"nope":1}]})"), false));
  CHECK(validate_filter_policy(json::parse(R"({"a":[{"numeric":[">",5,"<",1]}]})"), false));
  CHECK(validate_filter_policy(json::parse(R"({"a":{"b":["c"]}})"), false));
  CHECK_FALSE(validate_filter_policy(json::parse(R"({"a":{"b":["c"]}})"), true));
  CHECK(validate_filter_policy(json::parse(R"({"a":[{"cidr":"nope"}]})"), false));
  CHECK(validate_filter_policy(json::parse(R"({"$or":[{"a":["x"]}]})"), false));
}

TEST_CASE("message attributes become a filter document", "[sns]") {
  json attrs = {{"s", {{"DataType", "String"}, {"StringValue", "v"}}},
                {"n", {{"DataType", "Number"}, {"StringValue", "1.5"}}},
                {"arr", {{"DataType", "String.Array"}, {"StringValue", R"(["a",2])"}}},
                {"b", {{"DataType", "Binary"}, {"BinaryValue", "AQ=="}}}};
  json doc = attributes_document(attrs);
  CHECK(doc == json::parse(R"({"s":"v","n":1.5,"arr":["a",2]})"));
}
