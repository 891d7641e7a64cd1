#include "core/ids.h"

#include <random>

namespace sless::ids {
namespace {

// xoshiro256** (public domain algorithm by Blackman and Vigna), seeded per thread.
struct Xoshiro {
  uint64_t s[4];
  Xoshiro() {
    std::random_device rd;
    for (auto& v : s) {
      v = (uint64_t(rd()) << 32) ^ rd();
    }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

Xoshiro& generator() {
  thread_local Xoshiro g;
  return g;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

uint64_t random_u64() { return generator().next(); }

std::string uuid() {
  uint64_t hi = random_u64();
  uint64_t lo = random_u64();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
        ++pos;
      }
      out[pos++] = kHex[(v >> (i * 4)) & 0xf];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

std::string random_hex(size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    uint64_t v = random_u64();
    for (int i = 0; i < 16 && out.size() < n; ++i, v >>= 4) {
      out.push_back(kHex[v & 0xf]);
    }
  }
  return out;
}

std::string random_alnum(size_t n) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kChars[random_u64() % 62]);
  }
  return out;
}

std::string account_from_access_key(std::string_view key) {
  if (key.size() == 12) {
    bool digits = true;
    for (char c : key) {
      digits = digits && c >= '0' && c <= '9';
    }
    if (digits) {
      return std::string(key);
    }
  }
  return std::string(kDefaultAccount);
}

std::string arn(std::string_view service, std::string_view region, std::string_view account,
                std::string_view resource) {
  std::string out = "arn:aws:";
  out.append(service).append(":").append(region).append(":").append(account).append(":").append(resource);
  return out;
}

}  // namespace sless::ids
