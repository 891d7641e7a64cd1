#include "services/kinesis/hash_key.h"

#include <algorithm>

#include "core/crypto.h"

namespace sless::services::kinesis {

std::string to_decimal(HashKey v) {
  if (v == 0) return "0";
  std::string out;
  while (v != 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::optional<HashKey> parse_hash_key(std::string_view text) {
  if (text.empty() || text.size() > 39) return std::nullopt;
  HashKey v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    HashKey digit = static_cast<HashKey>(c - '0');
    if (v > (kMaxHashKey - digit) / 10) return std::nullopt;  // would pass 2^128 - 1
    v = v * 10 + digit;
  }
  return v;
}

HashKey hash_of_partition_key(std::string_view partition_key) {
  std::string digest = crypto::md5(partition_key);
  HashKey v = 0;
  for (unsigned char c : digest) v = (v << 8) | c;
  return v;
}

HashKey even_split_start(uint32_t i, uint32_t n) {
  if (n == 0 || i == 0) return 0;
  // floor(2^128 / n) without 2^128 itself: (2^128 - 1) / n is the same unless n divides 2^128,
  // i.e. n is a power of two, where one more is needed.
  HashKey step = kMaxHashKey / n;
  if ((n & (n - 1)) == 0) step += 1;
  return step * i;
}

}  // namespace sless::services::kinesis
