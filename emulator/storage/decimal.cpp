#include "storage/decimal.h"

#include <algorithm>

namespace sless::storage::key {
namespace {

constexpr const char* kNotANumber = "A value provided cannot be converted into a number";
constexpr const char* kTooManyDigits = "Attempting to store more than 38 significant digits in a Number";
constexpr const char* kOverflow =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
constexpr const char* kUnderflow =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";
// Written exponents saturate here: far outside the range, far from int64 overflow.
constexpr int64_t kExponentClamp = int64_t{1} << 40;

std::nullopt_t fail(std::string* error, const char* message) {
  if (error != nullptr) {
    *error = message;
  }
  return std::nullopt;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::strong_ordering compare_magnitude(const Decimal& a, const Decimal& b) {
  if (a.is_zero() || b.is_zero()) {
    return !a.is_zero() <=> !b.is_zero();
  }
  if (a.exponent() != b.exponent()) {
    return a.exponent() <=> b.exponent();
  }
  return a.digits().compare(b.digits()) <=> 0;
}

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view text, std::string* error) {
  size_t i = 0;
  auto take_sign = [&] {
    bool negative = i < text.size() && text[i] == '-';
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      ++i;
    }
    return negative;
  };
  auto take_digits = [&] {
    size_t start = i;
    while (i < text.size() && is_digit(text[i])) {
      ++i;
    }
    return text.substr(start, i - start);
  };

  const bool negative = take_sign();
  const std::string_view int_digits = take_digits();
  std::string_view frac_digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    frac_digits = take_digits();
  }
  if (int_digits.empty() && frac_digits.empty()) {
    return fail(error, kNotANumber);
  }
  int64_t exp10 = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    const bool exp_negative = take_sign();
    const std::string_view exp_digits = take_digits();
    if (exp_digits.empty()) {
      return fail(error, kNotANumber);
    }
    for (char c : exp_digits) {
      exp10 = std::min(exp10 * 10 + (c - '0'), kExponentClamp);
    }
    exp10 = exp_negative ? -exp10 : exp10;
  }
  if (i != text.size()) {
    return fail(error, kNotANumber);
  }
  return make(negative, int_digits, frac_digits, exp10 - static_cast<int64_t>(frac_digits.size()), error);
}

std::optional<Decimal> Decimal::from_digits(bool negative, std::string_view digits, int64_t exponent,
                                            std::string* error) {
  return make(negative, digits, {}, exponent, error);
}

// The coefficient is head followed by tail; exponent is the power of ten of its last digit.
std::optional<Decimal> Decimal::make(bool negative, std::string_view head, std::string_view tail,
                                     int64_t exponent, std::string* error) {
  const size_t n = head.size() + tail.size();
  auto at = [&](size_t k) { return k < head.size() ? head[k] : tail[k - head.size()]; };
  size_t first = 0;
  while (first < n && at(first) == '0') {
    ++first;
  }
  if (first == n) {
    return Decimal();
  }
  size_t last = n - 1;
  while (at(last) == '0') {
    --last;
  }
  const size_t count = last - first + 1;
  const int64_t lead = exponent + static_cast<int64_t>(n - 1 - first);
  if (count > kMaxDigits) {
    return fail(error, kTooManyDigits);
  }
  if (lead > kMaxExponent) {
    return fail(error, kOverflow);
  }
  if (lead < kMinExponent) {
    return fail(error, kUnderflow);
  }
  Decimal d;
  d.negative_ = negative;
  d.size_ = static_cast<uint8_t>(count);
  d.exponent_ = static_cast<int16_t>(lead);
  for (size_t k = 0; k < count; ++k) {
    d.digits_[k] = at(first + k);
  }
  return d;
}

std::string Decimal::to_string() const {
  if (is_zero()) {
    return "0";
  }
  std::string out = negative_ ? "-" : "";
  const std::string_view d = digits();
  if (exponent_ < 0) {
    out.append("0.").append(static_cast<size_t>(-exponent_ - 1), '0').append(d);
    return out;
  }
  const size_t int_len = static_cast<size_t>(exponent_) + 1;
  if (d.size() <= int_len) {
    out.append(d).append(int_len - d.size(), '0');
  } else {
    out.append(d.substr(0, int_len)).append(".").append(d.substr(int_len));
  }
  return out;
}

Decimal Decimal::negated() const {
  Decimal d = *this;
  d.negative_ = !is_zero() && !negative_;
  return d;
}

std::strong_ordering operator<=>(const Decimal& a, const Decimal& b) {
  if (a.sign() != b.sign()) {
    return a.sign() <=> b.sign();
  }
  const std::strong_ordering magnitude = compare_magnitude(a, b);
  return a.sign() < 0 ? 0 <=> magnitude : magnitude;
}

std::optional<Decimal> add(const Decimal& a, const Decimal& b, std::string* error) {
  if (a.is_zero() || b.is_zero()) {
    return a.is_zero() ? b : a;
  }
  const std::strong_ordering magnitude = compare_magnitude(a, b);
  const bool same_sign = a.sign() == b.sign();
  if (!same_sign && magnitude == 0) {
    return Decimal();
  }
  // Column arithmetic over every power of ten two in-range operands can reach, plus one for the
  // carry: column i holds the digit of 10^(kTop - i). Subtracting the smaller magnitude from the
  // larger keeps the top column from going negative.
  constexpr int kTop = Decimal::kMaxExponent + 1;
  constexpr int kBottom = Decimal::kMinExponent - (Decimal::kMaxDigits - 1);
  constexpr int kWidth = kTop - kBottom + 1;
  const Decimal& larger = magnitude < 0 ? b : a;
  const Decimal& smaller = magnitude < 0 ? a : b;
  std::array<int, kWidth> column{};
  auto place = [&](const Decimal& d, int factor) {
    const std::string_view digits = d.digits();
    for (size_t k = 0; k < digits.size(); ++k) {
      column[kTop - d.exponent() + k] += factor * (digits[k] - '0');
    }
  };
  place(larger, 1);
  place(smaller, same_sign ? 1 : -1);
  std::array<char, kWidth> text{};
  for (int i = kWidth - 1; i >= 0; --i) {
    const int borrow = column[i] < 0 ? 1 : 0;
    const int carry = column[i] >= 10 ? 1 : 0;
    if (i > 0) {
      column[i - 1] += carry - borrow;
    }
    text[i] = static_cast<char>('0' + column[i] - 10 * carry + 10 * borrow);
  }
  return Decimal::from_digits(larger.sign() < 0, {text.data(), text.size()}, kBottom, error);
}

std::optional<Decimal> subtract(const Decimal& a, const Decimal& b, std::string* error) {
  return add(a, b.negated(), error);
}

}  // namespace sless::storage::key
