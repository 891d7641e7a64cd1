// Digests and checksums (OpenSSL 3 and zlib underneath). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sless::crypto {

// Raw digests (binary, not hex).
std::string md5(std::string_view data);
std::string sha1(std::string_view data);
std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);

uint32_t crc32(std::string_view data, uint32_t seed = 0);

// Incremental MD5 for streamed bodies.
class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void update(std::string_view data);
  std::string finish();  // raw digest; the object is spent afterwards

 private:
  void* ctx_;
};

}  // namespace sless::crypto
