#include "core/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <memory>

namespace sless::crypto {
namespace {

// OpenSSL 3 looks the algorithm up in its provider table on every use of EVP_md5() and
// friends (a locked fetch) and EVP_Digest allocates a context per call: fetch each algorithm
// once, and reuse one context per thread.
const EVP_MD* fetched(const char* name, const EVP_MD* legacy) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  return md ? md : legacy;  // kept for the life of the process
}

std::string digest(const EVP_MD* md, std::string_view data) {
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) {
    EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string md5(std::string_view d) {
  static const EVP_MD* md = fetched("MD5", EVP_md5());
  return digest(md, d);
}
std::string sha1(std::string_view d) {
  static const EVP_MD* md = fetched("SHA1", EVP_sha1());
  return digest(md, d);
}
std::string sha256(std::string_view d) {
  static const EVP_MD* md = fetched("SHA256", EVP_sha256());
  return digest(md, d);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

uint32_t crc32(std::string_view data, uint32_t seed) {
  uLong crc = seed;
  while (!data.empty()) {
    uInt n = data.size() > (1u << 30) ? (1u << 30) : static_cast<uInt>(data.size());
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data.data()), n);
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

Md5::Md5() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_md5(), nullptr);
}
Md5::~Md5() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Md5::update(std::string_view d) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), d.data(), d.size());
}
std::string Md5::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace sless::crypto
