// The JSON writer the JSON protocols answer with (protocol::dump, also DynamoDB's item writer):
// byte for byte what nlohmann's dump (with invalid UTF-8 replaced) writes, on fixed and random trees.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <random>
#include <string>

#include "protocol/codec.h"

using nlohmann::json;
using sless::protocol::dump;

namespace {

std::string reference(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json random_tree(std::mt19937_64& rng, int depth) {
  static const std::string pieces[] = {"plain", "AAEC+/==", "quote\"", "back\\slash", "tab\t", "nl\n", "\x01",
                                       "caf\xc3\xa9", "\xe2\x82\xac", "bad\xff", "", "49000000000000000001"};
  switch (rng() % (depth > 3 ? 6 : 8)) {
    case 0: return json(pieces[rng() % 12] + pieces[rng() % 12]);
    case 1: return json(static_cast<int64_t>(rng()));
    case 2: return json(static_cast<uint64_t>(rng()));
    case 3: return json(static_cast<double>(rng() % 100000) / 7.0);
    case 4: return json(rng() % 2 == 0);
    case 5: return json(nullptr);
    case 6: {
      json a = json::array();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i) a.push_back(random_tree(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i) o[pieces[rng() % 12]] = random_tree(rng, depth + 1);
      return o;
    }
  }
}

}  // namespace

TEST_CASE("json dump: same bytes as nlohmann", "[protocol]") {
  json fixed = {{"Records", json::array({{{"Data", "AAEC"}, {"ApproximateArrivalTimestamp", 1700000000.123},
                                          {"PartitionKey", "k\"ey"}, {"n", -5}, {"u", 18446744073709551615ull}}})},
                {"empty", json::object()}, {"list", json::array()}, {"x", 1.0}, {"bad", "\xc3"}};
  CHECK(dump(fixed) == reference(fixed));
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; ++i) {
    json j = random_tree(rng, 0);
    REQUIRE(dump(j) == reference(j));
  }
}

// Strings are checked eight bytes at a time for what must be escaped: every byte value at every
// position of strings of 1 to 20 bytes, the others plain, is written as nlohmann writes it.
TEST_CASE("json dump: every byte value at every position of a string", "[protocol]") {
  for (size_t len = 1; len <= 20; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'a');
        s[pos] = static_cast<char>(b);
        json j(s);
        REQUIRE(dump(j) == reference(j));
      }
    }
  }
}
