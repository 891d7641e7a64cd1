#include "storage/keys.h"

#include <array>
#include <bit>

namespace sless::storage::key {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

// Decimal sign markers, and the byte that ends a non-zero decimal's digit pairs (each pair
// hi,lo is stored as 1 + 10 * hi + lo, so in 1..100).
constexpr uint8_t kNegative = 0x01;
constexpr uint8_t kZero = 0x02;
constexpr uint8_t kPositive = 0x03;
constexpr uint8_t kDigitsEnd = 0x00;

}  // namespace

void append_string(std::string& out, std::string_view s) {
  for (size_t nul = s.find('\0'); nul != std::string_view::npos; nul = s.find('\0')) {
    out.append(s.substr(0, nul)).append("\0\xFF", 2);
    s.remove_prefix(nul + 1);
  }
  out.append(s).append("\0\x01", 2);
}

bool read_string(std::string_view& in, std::string* out) {
  out->clear();
  for (;;) {
    const size_t nul = in.find('\0');
    if (nul == std::string_view::npos || nul + 1 == in.size()) {
      return false;
    }
    out->append(in.substr(0, nul));
    const char escape = in[nul + 1];
    in.remove_prefix(nul + 2);
    if (escape == '\x01') {
      return true;
    }
    if (escape != '\xFF') {
      return false;
    }
    out->push_back('\0');
  }
}

void append_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

bool read_u32(std::string_view& in, uint32_t* out) {
  if (in.size() < 4) {
    return false;
  }
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  }
  in.remove_prefix(4);
  *out = v;
  return true;
}

void append_u64(std::string& out, uint64_t v) {
  std::array<char, 8> bytes;
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  out.append(bytes.data(), bytes.size());
}

bool read_u64(std::string_view& in, uint64_t* out) {
  if (in.size() < 8) {
    return false;
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  }
  in.remove_prefix(8);
  *out = v;
  return true;
}

void append_i64(std::string& out, int64_t v) { append_u64(out, static_cast<uint64_t>(v) ^ kSignBit); }

bool read_i64(std::string_view& in, int64_t* out) {
  uint64_t u = 0;
  if (!read_u64(in, &u)) {
    return false;
  }
  *out = static_cast<int64_t>(u ^ kSignBit);
  return true;
}

void append_double(std::string& out, double v) {
  const uint64_t bits = std::bit_cast<uint64_t>(v == 0.0 ? 0.0 : v);
  append_u64(out, (bits & kSignBit) != 0 ? ~bits : bits | kSignBit);
}

bool read_double(std::string_view& in, double* out) {
  uint64_t u = 0;
  if (!read_u64(in, &u)) {
    return false;
  }
  *out = std::bit_cast<double>((u & kSignBit) != 0 ? u ^ kSignBit : ~u);
  return true;
}

void append_decimal(std::string& out, const Decimal& d) {
  if (d.is_zero()) {
    out.push_back(static_cast<char>(kZero));
    return;
  }
  out.push_back(static_cast<char>(d.sign() < 0 ? kNegative : kPositive));
  const size_t start = out.size();
  out.push_back(static_cast<char>(d.exponent() - Decimal::kMinExponent));
  const std::string_view digits = d.digits();
  for (size_t k = 0; k < digits.size(); k += 2) {
    const int hi = digits[k] - '0';
    const int lo = k + 1 < digits.size() ? digits[k + 1] - '0' : 0;
    out.push_back(static_cast<char>(1 + 10 * hi + lo));
  }
  out.push_back(static_cast<char>(kDigitsEnd));
  if (d.sign() < 0) {
    for (size_t i = start; i < out.size(); ++i) {
      out[i] = static_cast<char>(~out[i]);
    }
  }
}

bool read_decimal(std::string_view& in, Decimal* out) {
  if (in.empty()) {
    return false;
  }
  const auto marker = static_cast<uint8_t>(in[0]);
  if (marker == kZero) {
    *out = Decimal();
    in.remove_prefix(1);
    return true;
  }
  if ((marker != kNegative && marker != kPositive) || in.size() < 2) {
    return false;
  }
  const uint8_t flip = marker == kNegative ? 0xFF : 0x00;
  auto byte_at = [&](size_t i) { return static_cast<uint8_t>(static_cast<uint8_t>(in[i]) ^ flip); };
  const int exponent = byte_at(1) + Decimal::kMinExponent;
  std::array<char, Decimal::kMaxDigits> digits;
  size_t n = 0;
  size_t i = 2;
  for (; i < in.size() && byte_at(i) != kDigitsEnd; ++i) {
    const int pair = byte_at(i) - 1;
    if (pair > 99 || n + 2 > digits.size()) {
      return false;
    }
    digits[n++] = static_cast<char>('0' + pair / 10);
    digits[n++] = static_cast<char>('0' + pair % 10);
  }
  if (i == in.size() || n == 0) {
    return false;
  }
  const auto d = Decimal::from_digits(marker == kNegative, {digits.data(), n},
                                      exponent - static_cast<int>(n) + 1, nullptr);
  // Only the encoder's own output: no leading zero digit, no zero pair at the end.
  if (!d || d->is_zero() || d->exponent() != exponent || (d->digits().size() + 1) / 2 != n / 2) {
    return false;
  }
  *out = *d;
  in.remove_prefix(i + 1);
  return true;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<uint8_t>(end.back()) == 0xFF) {
    end.pop_back();
  }
  if (!end.empty()) {
    end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  }
  return end;
}

std::string scope(std::string_view account, std::string_view region) {
  std::string out;
  append_string(out, account);
  append_string(out, region);
  return out;
}

}  // namespace sless::storage::key
