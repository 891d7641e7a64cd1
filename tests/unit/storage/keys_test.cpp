#include "storage/keys.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

namespace sless::storage::key {
namespace {

// Sorts the values, then requires their encodings to rise exactly where the values rise.
template <class T, class Encode>
void require_order_preserved(std::vector<T> values, Encode encode) {
  std::sort(values.begin(), values.end());
  std::string previous = encode(values.front());
  for (size_t i = 1; i < values.size(); ++i) {
    const std::string current = encode(values[i]);
    INFO("pair " << i);
    REQUIRE((values[i - 1] < values[i]) == (previous < current));
    REQUIRE((values[i - 1] == values[i]) == (previous == current));
    previous = current;
  }
}

// Short strings over an alphabet rich in the bytes the escaping cares about.
std::string random_string(std::mt19937& rng) {
  static constexpr char kAlphabet[] = {'\0', '\x01', '\xFE', '\xFF', 'a', 'b'};
  std::uniform_int_distribution<size_t> length(0, 5);
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 1);
  std::string s(length(rng), ' ');
  for (char& c : s) {
    c = kAlphabet[pick(rng)];
  }
  return s;
}

std::string encode_string(const std::string& s) {
  std::string out;
  append_string(out, s);
  return out;
}

}  // namespace

TEST_CASE("strings encode in order, embedded NULs and 0xFF included", "[storage][keys]") {
  std::mt19937 rng(7);
  std::vector<std::string> values;
  for (int i = 0; i < 3000; ++i) {
    values.push_back(random_string(rng));
  }
  require_order_preserved(values, encode_string);
  CHECK(encode_string("a") < encode_string(std::string("a\0", 2)));
  CHECK(encode_string(std::string("a\0", 2)) < encode_string("ab"));
  CHECK(encode_string("") < encode_string(std::string("\0", 1)));
}

TEST_CASE("tuples of components compare component-wise", "[storage][keys]") {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> small(-3, 3);
  using Tuple = std::tuple<std::string, int64_t, std::string>;
  std::vector<Tuple> values;
  for (int i = 0; i < 3000; ++i) {
    values.emplace_back(random_string(rng), small(rng), random_string(rng));
  }
  require_order_preserved(values, [](const Tuple& t) {
    std::string out;
    append_string(out, std::get<0>(t));
    append_i64(out, std::get<1>(t));
    append_bytes(out, std::get<2>(t));
    return out;
  });
}

TEST_CASE("strings round-trip and malformed ones are rejected", "[storage][keys]") {
  std::mt19937 rng(3);
  for (int i = 0; i < 500; ++i) {
    const std::string a = random_string(rng);
    const std::string b = random_string(rng);
    std::string encoded;
    append_string(encoded, a);
    append_bytes(encoded, b);
    std::string_view in = encoded;
    std::string a2;
    std::string b2;
    REQUIRE(read_string(in, &a2));
    REQUIRE(read_bytes(in, &b2));
    REQUIRE(a2 == a);
    REQUIRE(b2 == b);
    REQUIRE(in.empty());
  }
  std::string out;
  for (std::string_view bad : {std::string_view("abc"), std::string_view("a\0", 2),
                               std::string_view("a\0\x02", 3), std::string_view("")}) {
    std::string_view in = bad;
    CHECK_FALSE(read_string(in, &out));
  }
}

TEST_CASE("integers encode in order and round-trip", "[storage][keys]") {
  std::mt19937_64 rng(5);
  std::vector<uint64_t> unsigned_values = {0, 1, 255, 256, std::numeric_limits<uint64_t>::max()};
  std::vector<int64_t> signed_values = {0, -1, 1, std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max()};
  for (int i = 0; i < 2000; ++i) {
    const uint64_t r = rng();
    unsigned_values.push_back(r >> (r % 64));
    signed_values.push_back(static_cast<int64_t>(rng()) >> (r % 64));
  }
  require_order_preserved(unsigned_values, [](uint64_t v) {
    std::string out;
    append_u64(out, v);
    return out;
  });
  require_order_preserved(signed_values, [](int64_t v) {
    std::string out;
    append_i64(out, v);
    return out;
  });
  for (size_t i = 0; i < signed_values.size(); ++i) {
    std::string encoded;
    append_u64(encoded, unsigned_values[i]);
    append_i64(encoded, signed_values[i]);
    REQUIRE(encoded.size() == 16);
    std::string_view in = encoded;
    uint64_t u = 0;
    int64_t s = 0;
    REQUIRE(read_u64(in, &u));
    REQUIRE(read_i64(in, &s));
    REQUIRE(u == unsigned_values[i]);
    REQUIRE(s == signed_values[i]);
  }
  std::string_view short_input = "1234567";
  uint64_t u = 0;
  CHECK_FALSE(read_u64(short_input, &u));
}

TEST_CASE("u32 values encode in order and round-trip", "[storage][keys]") {
  std::mt19937_64 rng(32);
  std::vector<uint32_t> values = {0, 1, 255, 256, 65535, 65536, std::numeric_limits<uint32_t>::max()};
  for (int i = 0; i < 2000; ++i) values.push_back(static_cast<uint32_t>(rng()) >> (rng() % 32));
  require_order_preserved(values, [](uint32_t v) {
    std::string out;
    append_u32(out, v);
    return out;
  });
  for (uint32_t v : values) {
    std::string encoded;
    append_u32(encoded, v);
    encoded += "rest";
    REQUIRE(encoded.size() == 8);
    std::string_view in = encoded;
    uint32_t back = 0;
    REQUIRE(read_u32(in, &back));
    REQUIRE(back == v);
    REQUIRE(in == "rest");
  }
  std::string_view short_input = "123";
  uint32_t v = 0;
  CHECK_FALSE(read_u32(short_input, &v));
}

TEST_CASE("doubles encode in order and round-trip", "[storage][keys]") {
  using Limits = std::numeric_limits<double>;
  std::mt19937_64 rng(9);
  std::vector<double> values = {0.0, -0.0, 1.0, -1.0, Limits::infinity(), -Limits::infinity(),
                                Limits::max(), Limits::lowest(), Limits::min(), -Limits::min(),
                                Limits::denorm_min(), -Limits::denorm_min(), 0.1, -0.1};
  std::uniform_real_distribution<double> near(-2.0, 2.0);
  while (values.size() < 3000) {
    const double any = std::bit_cast<double>(rng());
    if (!std::isnan(any)) {
      values.push_back(any);
    }
    values.push_back(near(rng));
  }
  auto encode = [](double v) {
    std::string out;
    append_double(out, v);
    return out;
  };
  require_order_preserved(values, encode);
  for (double v : values) {
    const std::string encoded = encode(v);
    std::string_view in = encoded;
    double back = 1.5;
    REQUIRE(read_double(in, &back));
    REQUIRE(back == v);
  }
  CHECK(encode(-0.0) == encode(0.0));
}

TEST_CASE("decimals encode in numeric order and round-trip", "[storage][keys]") {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> digit(0, 9);
  std::uniform_int_distribution<int> length(1, Decimal::kMaxDigits);
  std::uniform_int_distribution<int> exponent(Decimal::kMinExponent, Decimal::kMaxExponent);
  std::uniform_int_distribution<int> coin(0, 3);
  std::vector<Decimal> values;
  for (const char* text : {"0", "1", "-1", "1E-130", "-1E-130", "9.9999999999999999999999999999999999999E+125",
                           "-9.9999999999999999999999999999999999999E+125", "1.1", "1.01", "10", "-10"}) {
    values.push_back(*Decimal::parse(text, nullptr));
  }
  while (values.size() < 4000) {
    // Reuse a prefix of an earlier value's digits now and then, to get near-equal neighbours.
    std::string digits;
    if (coin(rng) == 0) {
      const Decimal& earlier = values[rng() % values.size()];
      digits = std::string(earlier.digits().substr(0, rng() % (earlier.digits().size() + 1)));
    }
    const size_t target = std::max(digits.size(), static_cast<size_t>(length(rng)));
    while (digits.size() < target) {
      digits.push_back(static_cast<char>('0' + digit(rng)));
    }
    const int lead = coin(rng) == 0 ? (coin(rng) < 2 ? Decimal::kMinExponent : Decimal::kMaxExponent)
                                    : exponent(rng);
    const auto d = Decimal::from_digits(coin(rng) < 2, digits, lead - static_cast<int>(digits.size()) + 1, nullptr);
    if (d) {
      values.push_back(*d);
    }
  }
  auto encode = [](const Decimal& d) {
    std::string out;
    append_decimal(out, d);
    return out;
  };
  require_order_preserved(values, encode);
  for (const Decimal& d : values) {
    std::string encoded = encode(d);
    REQUIRE(encoded.size() <= 22);
    append_string(encoded, "next");  // the decimal must end where it says it does
    std::string_view in = encoded;
    Decimal back;
    std::string next;
    REQUIRE(read_decimal(in, &back));
    REQUIRE(back == d);
    REQUIRE(back.to_string() == d.to_string());
    REQUIRE(read_string(in, &next));
    REQUIRE(next == "next");
  }
}

TEST_CASE("malformed decimal encodings are rejected", "[storage][keys]") {
  Decimal out;
  const std::string one = [] {
    std::string s;
    append_decimal(s, *Decimal::parse("1", nullptr));
    return s;
  }();
  for (const std::string& bad : {std::string(), std::string("\x07"), one.substr(0, 2), one.substr(0, 1),
                                 std::string("\x03\x82\x70\x00", 4),   // a digit pair above 99
                                 std::string("\x03\x82\x01\x00", 4),        // all zeros
                                 std::string("\x03\x82\x02\x0B\x00", 5),    // a leading zero digit
                                 std::string("\x03\x82\x0B\x01\x00", 5)}) {  // a trailing zero pair
    std::string_view in = bad;
    CHECK_FALSE(read_decimal(in, &out));
  }
}

TEST_CASE("prefix_end bounds exactly the strings with the prefix", "[storage][keys]") {
  CHECK(prefix_end("") == "");
  CHECK(prefix_end("a") == "b");
  CHECK(prefix_end("a\xFF") == "b");
  CHECK(prefix_end("ab\xFF\xFF") == "ac");
  CHECK(prefix_end("a\xFE") == "a\xFF");
  CHECK(prefix_end("\xFF\xFF") == "");
  std::mt19937 rng(17);
  for (int i = 0; i < 3000; ++i) {
    const std::string prefix = random_string(rng);
    const std::string s = random_string(rng);
    const std::string end = prefix_end(prefix);
    const bool has_prefix = s.starts_with(prefix);
    if (end.empty()) {
      REQUIRE((s >= prefix) == has_prefix);
    } else {
      REQUIRE((s >= prefix && s < end) == has_prefix);
      REQUIRE((prefix + s) < end);
    }
  }
}

TEST_CASE("KeyBuilder scopes keys by account and region", "[storage][keys]") {
  const Decimal price = *Decimal::parse("-12.5", nullptr);
  std::string key = KeyBuilder("000000000000", "us-east-1")
                        .str("queue")
                        .bytes(std::string("b\0", 2))
                        .u64(7)
                        .i64(-7)
                        .f64(2.5)
                        .decimal(price)
                        .raw("tail")
                        .take();
  const std::string prefix = scope("000000000000", "us-east-1");
  REQUIRE(key.starts_with(prefix));
  std::string_view in = key;
  in.remove_prefix(prefix.size());
  std::string s;
  std::string b;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  Decimal d;
  REQUIRE(read_string(in, &s));
  REQUIRE(read_bytes(in, &b));
  REQUIRE(read_u64(in, &u));
  REQUIRE(read_i64(in, &i));
  REQUIRE(read_double(in, &f));
  REQUIRE(read_decimal(in, &d));
  CHECK(s == "queue");
  CHECK(b == std::string("b\0", 2));
  CHECK(u == 7);
  CHECK(i == -7);
  CHECK(f == 2.5);
  CHECK(d == price);
  CHECK(in == "tail");

  // One account's scope is never a prefix of another's.
  CHECK_FALSE(scope("12", "us-east-1").starts_with(scope("1", "us-east-1")));
  CHECK_FALSE(KeyBuilder("1", "us-east-12").key().starts_with(scope("1", "us-east-1")));
  KeyBuilder builder("1", "r");
  builder.str("x");
  CHECK(builder.key() == scope("1", "r") + encode_string("x"));
}

}  // namespace sless::storage::key
