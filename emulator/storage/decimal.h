// Decimal: an exact DynamoDB number (up to 38 significant digits, magnitude 1E-130 .. 9.99..E+125).
// A small value type with no heap storage; any thread may create, copy and read one.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sless::storage::key {

class Decimal {
 public:
  static constexpr int kMaxDigits = 38;
  static constexpr int kMinExponent = -130;  // exponent of the leading digit, as in 1.5E-130
  static constexpr int kMaxExponent = 125;

  Decimal() = default;  // zero

  // Parses what DynamoDB accepts: [+-]digits[.digits][(e|E)[+-]digits], with at least one digit
  // in the mantissa. On failure returns nullopt and, when error is not null, DynamoDB's message.
  static std::optional<Decimal> parse(std::string_view text, std::string* error);
  // The value ±digits × 10^exponent, where digits are ASCII '0'..'9' (leading and trailing
  // zeros allowed). Fails like parse when the value does not fit.
  static std::optional<Decimal> from_digits(bool negative, std::string_view digits, int64_t exponent,
                                            std::string* error);

  // DynamoDB's canonical text: no exponent, no superfluous zeros, "0" for zero.
  std::string to_string() const;

  int sign() const { return size_ == 0 ? 0 : (negative_ ? -1 : 1); }
  bool is_zero() const { return size_ == 0; }
  // The significant digits, ASCII, no leading or trailing zeros; empty for zero.
  std::string_view digits() const { return {digits_.data(), size_}; }
  // The power of ten of the leading digit (0 for zero): 150 has exponent 2, 0.015 has -2.
  int exponent() const { return exponent_; }
  Decimal negated() const;

  friend bool operator==(const Decimal& a, const Decimal& b) { return (a <=> b) == 0; }
  friend std::strong_ordering operator<=>(const Decimal& a, const Decimal& b);

 private:
  // The value ±(int_digits.frac_digits) × 10^exp10: the one place that normalizes and range-checks.
  static std::optional<Decimal> make(bool negative, std::string_view int_digits,
                                     std::string_view frac_digits, int64_t exp10, std::string* error);

  std::array<char, kMaxDigits> digits_{};
  uint8_t size_ = 0;
  int16_t exponent_ = 0;
  bool negative_ = false;
};

// Exact sum and difference; nullopt with DynamoDB's message when the result does not fit.
std::optional<Decimal> add(const Decimal& a, const Decimal& b, std::string* error);
std::optional<Decimal> subtract(const Decimal& a, const Decimal& b, std::string* error);

}  // namespace sless::storage::key
