// core/json_parse: the fast parser gives what nlohmann::json::parse gives (fuzz_json checks that
// on arbitrary text); these cases pin the points where the two could part.
#include <catch2/catch.hpp>

#include <string>

#include "core/json_parse.h"

namespace jp = sless::json_text;
using nlohmann::json;

namespace json_parse_test {

// Parsed by both; the same value down to the number types, or both refused.
void same_as_nlohmann(const std::string& text) {
  INFO(text);
  json ours = jp::parse(text);
  json theirs = json::parse(text, nullptr, false);
  REQUIRE(ours.is_discarded() == theirs.is_discarded());
  if (!ours.is_discarded()) CHECK(ours.dump() == theirs.dump());
}

}  // namespace json_parse_test

using json_parse_test::same_as_nlohmann;

TEST_CASE("json_parse numbers keep nlohmann's types", "[json_parse]") {
  CHECK(jp::parse("1").is_number_unsigned());
  CHECK(jp::parse("-1").is_number_integer());
  CHECK(jp::parse("1.0").is_number_float());
  CHECK(jp::parse("18446744073709551615").get<uint64_t>() == 18446744073709551615ull);
  CHECK(jp::parse("18446744073709551616").is_number_float());  // past 64 bits: a double
  CHECK(jp::parse("-9223372036854775809").is_number_float());
  CHECK(jp::parse("1e400").is_discarded());  // overflows a double
  CHECK(jp::parse("1e-400").get<double>() == 0.0);
  for (const char* bad : {"01", "1.", ".5", "-", "+1", "1e", "1e+", "0x1", "NaN", "Infinity"}) {
    CHECK(jp::parse(bad).is_discarded());
  }
  for (const char* text : {"0", "-0", "-0.0", "1E2", "1e-2", "123456789.123456789e-5", "[1,-2,3.5e7]"}) {
    same_as_nlohmann(text);
  }
}

TEST_CASE("json_parse strings: escapes, surrogates and UTF-8", "[json_parse]") {
  CHECK(jp::parse(R"("a\"b\\c\/d\b\f\n\r\t")").get<std::string>() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(jp::parse(R"("\u00e9\ud83d\ude00")").get<std::string>() == "\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(jp::parse(R"("\u0000")").get<std::string>() == std::string(1, '\0'));
  for (const char* bad : {R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")", R"("\x")", R"("\u12")", "\"a\tb\"",
                          "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"open"}) {
    INFO(bad);
    CHECK(jp::parse(bad).is_discarded());
    same_as_nlohmann(bad);
  }
  same_as_nlohmann("\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xef\xbf\xbf\"");
}

TEST_CASE("json_parse documents: structure, duplicates, BOM, NUL and depth", "[json_parse]") {
  CHECK(jp::parse(R"({"a":1,"a":2})")["a"] == 2);  // the last duplicate wins
  CHECK(jp::parse("\xef\xbb\xbf {\"a\" : [ true , false , null ] }")["a"].size() == 3);
  CHECK(jp::parse("\xef\xbb [1]").is_discarded());
  CHECK(jp::parse(std::string("{}\0trailing", 11)) == json::object());  // nlohmann stops at a NUL
  for (const char* bad : {"", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "{1:2}", "tru", "nul", "[] []"}) {
    INFO(bad);
    CHECK(jp::parse(bad).is_discarded());
    same_as_nlohmann(bad);
  }
  bool too_deep = false;
  CHECK(jp::parse(std::string(3, '[') + std::string(3, ']'), 3, &too_deep) == json::parse("[[[]]]"));
  CHECK_FALSE(too_deep);
  CHECK(jp::parse(std::string(4, '[') + std::string(4, ']'), 3, &too_deep).is_discarded());
  CHECK(too_deep);
  same_as_nlohmann(R"({"TableName":"t","Item":{"pk":{"S":"x"},"n":{"N":"1"},"l":{"L":[{"BOOL":true},{"NULL":true}]}}})");
}
