#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/encoding.h"
#include "services/apigateway/jwt.h"

using namespace sless::services::apigateway;
using nlohmann::json;

namespace {

std::string b64url(std::string_view bytes) {
  std::string s = sless::enc::base64_encode(bytes);
  for (auto& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

std::string bn_bytes(const BIGNUM* bn) {
  std::string out(BN_num_bytes(bn), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

struct RsaKey {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  ~RsaKey() { EVP_PKEY_free(key); }

  json jwk(const std::string& kid) const {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
    json out{{"kty", "RSA"}, {"kid", kid}, {"alg", "RS256"}, {"n", b64url(bn_bytes(n))}, {"e", b64url(bn_bytes(e))}};
    BN_free(n);
    BN_free(e);
    return out;
  }

  std::string sign(const json& claims, const std::string& kid) const {
    std::string input = b64url(json{{"alg", "RS256"}, {"kid", kid}, {"typ", "JWT"}}.dump()) + "." + b64url(claims.dump());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return input + "." + b64url(sig);
  }
};

}  // namespace

TEST_CASE("RS256 tokens verify against their JWK and no other", "[apigateway]") {
  RsaKey key;
  RsaKey other;
  json claims{{"iss", "http://issuer"}, {"aud", "app"}, {"exp", 2000000000}, {"scope", "read write"}};
  std::string token = key.sign(claims, "k1");
  auto parts = split_jwt(token);
  REQUIRE(parts.ok());
  CHECK(parts.value().claims == claims);
  CHECK(verify_signature(parts.value(), key.jwk("k1")).is_ok());
  CHECK_FALSE(verify_signature(parts.value(), other.jwk("k1")).is_ok());
  std::string tampered = token;
  tampered[tampered.find('.') + 5] ^= 1;
  auto bad = split_jwt(tampered);
  CHECK((!bad.ok() || !verify_signature(bad.value(), key.jwk("k1")).is_ok()));
  CHECK_FALSE(split_jwt("not.a.jwt.at.all").ok());
}

TEST_CASE("JWT claims: expiry, issuer and audience", "[apigateway]") {
  json claims{{"iss", "http://issuer"}, {"aud", json::array({"x", "app"})}, {"exp", 1000}, {"nbf", 10}};
  CHECK(check_claims(claims, "http://issuer", {"app"}, 500).is_ok());
  CHECK_FALSE(check_claims(claims, "http://issuer", {"app"}, 1000).is_ok());
  CHECK_FALSE(check_claims(claims, "http://issuer", {"app"}, 5).is_ok());
  CHECK_FALSE(check_claims(claims, "http://other", {"app"}, 500).is_ok());
  CHECK_FALSE(check_claims(claims, "http://issuer", {"nope"}, 500).is_ok());
  json access{{"iss", "http://issuer"}, {"client_id", "app"}};
  CHECK(check_claims(access, "http://issuer", {"app"}, 500).is_ok());
  CHECK(check_claims(access, "http://issuer", {}, 500).is_ok());
}
