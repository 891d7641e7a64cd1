#include "services/kinesis/hash_key.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

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
  // Every PutRecord hashes its key: fetch MD5 once and keep a context per thread, rather than
  // pay OpenSSL 3's implicit fetch and a context allocation per call.
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!md5 || !ctx || !EVP_DigestInit_ex(ctx.get(), md5, nullptr) ||
      !EVP_DigestUpdate(ctx.get(), partition_key.data(), partition_key.size()) ||
      !EVP_DigestFinal_ex(ctx.get(), digest, &len)) {
    return 0;  // OpenSSL without MD5 (FIPS-only builds); every key then maps to the first shard
  }
  HashKey v = 0;
  for (unsigned int i = 0; i < len; ++i) v = (v << 8) | digest[i];
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
