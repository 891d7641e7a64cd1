#include "storage/decimal.h"

#include <cstdlib>
#include <random>
#include <string>

#include <catch2/catch.hpp>

namespace sless::storage::key {
namespace {

constexpr const char* kTooManyDigits = "Attempting to store more than 38 significant digits in a Number";
constexpr const char* kOverflow =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
constexpr const char* kUnderflow =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";
const std::string kNines(38, '9');

Decimal number(std::string_view text) {
  std::string error;
  const auto d = Decimal::parse(text, &error);
  INFO(text << ": " << error);
  REQUIRE(d.has_value());
  return *d;
}

std::string canonical(std::string_view text) { return number(text).to_string(); }

std::string parse_error(std::string_view text) {
  std::string error;
  CHECK_FALSE(Decimal::parse(text, &error).has_value());
  return error;
}

// The canonical text of op(a, b), or its error message.
using Operation = std::optional<Decimal> (*)(const Decimal&, const Decimal&, std::string*);
std::string result_of(Operation op, std::string_view a, std::string_view b) {
  std::string error;
  const auto d = op(number(a), number(b), &error);
  return d ? d->to_string() : error;
}

std::string sum(std::string_view a, std::string_view b) { return result_of(add, a, b); }
std::string difference(std::string_view a, std::string_view b) { return result_of(subtract, a, b); }

}  // namespace

TEST_CASE("Decimal::parse gives DynamoDB's canonical text", "[storage][decimal]") {
  CHECK(canonical("1.50") == "1.5");
  CHECK(canonical("1e2") == "100");
  CHECK(canonical("-0.00") == "0");
  CHECK(canonical("0") == "0");
  CHECK(canonical("0e999999999999999999999") == "0");
  CHECK(canonical("0.000001") == "0.000001");
  CHECK(canonical("1E-130") == "0." + std::string(129, '0') + "1");
  CHECK(canonical("+7") == "7");
  CHECK(canonical("007.700") == "7.7");
  CHECK(canonical(".5") == "0.5");
  CHECK(canonical("5.") == "5");
  CHECK(canonical("-1.5E+3") == "-1500");
  CHECK(canonical("12.345e-1") == "1.2345");
  CHECK(canonical("123456e-3") == "123.456");
  CHECK(canonical("1" + std::string(50, '0')) == "1" + std::string(50, '0'));
  CHECK(canonical("0." + std::string(60, '0') + "1") == "0." + std::string(60, '0') + "1");
  CHECK(canonical("9.9999999999999999999999999999999999999E+125") == kNines + std::string(88, '0'));
  CHECK(canonical("0.1E-129") == canonical("1E-130"));
  CHECK(canonical("12345678901234567890123456789012345678") == "12345678901234567890123456789012345678");
  CHECK(canonical("1.2345678901234567890123456789012345678000") == "1.2345678901234567890123456789012345678");
  CHECK(canonical("000" + kNines + "000") == kNines + "000");
}

TEST_CASE("Decimal::parse rejects what DynamoDB rejects", "[storage][decimal]") {
  for (const char* text : {"", "-", "+", ".", "-.", "e5", "1e", "1e+", "NaN", "nan", "Infinity", "-Infinity",
                           "0x10", " 1", "1 ", "1.2.3", "1e5.5", "--1", "+-1", "1,000", "1e--1", "١"}) {
    INFO('"' << text << '"');
    CHECK(parse_error(text) == "A value provided cannot be converted into a number");
  }
  CHECK(parse_error("123456789012345678901234567890123456789") == kTooManyDigits);
  CHECK(parse_error("1.00000000000000000000000000000000000001") == kTooManyDigits);
  CHECK(parse_error("1E126") == kOverflow);
  CHECK(parse_error("10E125") == kOverflow);
  CHECK(parse_error("-1E126") == kOverflow);
  CHECK(parse_error("1e99999999999999999999999999") == kOverflow);
  CHECK(parse_error("1E-131") == kUnderflow);
  CHECK(parse_error("0.01E-129") == kUnderflow);
  CHECK(parse_error("1e-99999999999999999999999999") == kUnderflow);
  CHECK_FALSE(Decimal::parse("x", nullptr).has_value());  // the error text is optional
}

TEST_CASE("Decimal compares numerically", "[storage][decimal]") {
  CHECK(number("1.5") == number("1.50"));
  CHECK(number("-0") == number("0"));
  CHECK(number("1e2") == number("100"));
  CHECK(number("-2") < number("-1"));
  CHECK(number("-1") < number("0"));
  CHECK(number("0") < number("1E-130"));
  CHECK(number("1.2") < number("1.23"));
  CHECK(number("-1.23") < number("-1.2"));
  CHECK(number("9") < number("10"));
  CHECK(number("0.99") < number("1"));
  CHECK(number("1E125") > number("99999999999999999999999999999999999999"));
  CHECK(number("5").sign() == 1);
  CHECK(number("-5").sign() == -1);
  CHECK(number("0").sign() == 0);
  CHECK(number("-5").negated() == number("5"));
  CHECK(number("0").negated() == number("0"));

  // Numbers of up to 15 digits survive a round trip through double, so doubles order them too.
  std::mt19937 rng(21);
  std::uniform_int_distribution<int64_t> coefficient(-999999999999999, 999999999999999);
  std::uniform_int_distribution<int> exponent(-120, 110);
  for (int i = 0; i < 5000; ++i) {
    const std::string a = std::to_string(coefficient(rng)) + "e" + std::to_string(exponent(rng));
    const std::string b = i % 3 == 0 ? a.substr(0, a.find('e')) + "e" + std::to_string(exponent(rng))
                                     : std::to_string(coefficient(rng)) + "e" + std::to_string(exponent(rng));
    const double x = std::strtod(a.c_str(), nullptr);
    const double y = std::strtod(b.c_str(), nullptr);
    INFO(a << " vs " << b);
    REQUIRE((number(a) < number(b)) == (x < y));
    REQUIRE((number(a) == number(b)) == (x == y));
    REQUIRE(std::strtod(number(a).to_string().c_str(), nullptr) == x);
  }
}

TEST_CASE("add and subtract are exact", "[storage][decimal]") {
  CHECK(sum("0.1", "0.2") == "0.3");
  CHECK(sum("1.5", "-1.5") == "0");
  CHECK(sum("5", "-3") == "2");
  CHECK(sum("-5", "3") == "-2");
  CHECK(sum("-5", "-3") == "-8");
  CHECK(sum("0", "-3") == "-3");
  CHECK(sum("7", "0") == "7");
  CHECK(sum(kNines, "1") == "1" + std::string(38, '0'));
  CHECK(sum("0." + kNines, "0." + std::string(37, '0') + "1") == "1");
  CHECK(sum("1" + std::string(37, '0'), "-1") == std::string(37, '9'));
  CHECK(sum("1E-130", "1E-130") == "0." + std::string(129, '0') + "2");
  CHECK(difference("1", "2") == "-1");
  CHECK(difference("-1", "-1") == "0");
  CHECK(difference("12345678901234567890123456789012345678", "12345678901234567890123456789012345677") == "1");
  CHECK(difference("1E125", "1") == kTooManyDigits);  // 125 nines
  CHECK(sum(kNines, "0.1") == kTooManyDigits);
  CHECK(sum("1E100", "1E-100") == kTooManyDigits);
  CHECK(sum("9.9999999999999999999999999999999999999E+125", "1E+88") == kOverflow);
  CHECK(sum("-9E125", "-1E125") == kOverflow);
  CHECK(difference("1.1E-130", "1E-130") == kUnderflow);

  // Integers of up to 17 digits, at any scale, against int64 arithmetic.
  std::mt19937 rng(23);
  std::uniform_int_distribution<int64_t> operand(-99999999999999999, 99999999999999999);
  std::uniform_int_distribution<int> scale(-100, 100);
  for (int i = 0; i < 5000; ++i) {
    const int64_t x = operand(rng);
    const int64_t y = i % 4 == 0 ? -x + operand(rng) % 1000 : operand(rng);
    const std::string e = "e" + std::to_string(scale(rng));
    INFO(x << e << " and " << y << e);
    REQUIRE(sum(std::to_string(x) + e, std::to_string(y) + e) == canonical(std::to_string(x + y) + e));
    REQUIRE(difference(std::to_string(x) + e, std::to_string(y) + e) == canonical(std::to_string(x - y) + e));
  }
}

}  // namespace sless::storage::key
