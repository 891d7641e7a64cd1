#include "services/apigateway/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <chrono>

#include "core/encoding.h"
#include "core/log.h"
#include "http/client.h"
#include "services/service.h"

namespace sless::services::apigateway {

using nlohmann::json;

namespace {

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string s(text);
  for (auto& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  return enc::base64_decode(s);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;


BIGNUM* bn_of(const json& jwk, const char* member) {
  if (!jwk.contains(member) || !jwk[member].is_string()) return nullptr;
  auto bytes = base64url_decode(jwk[member].get<std::string>());
  if (!bytes || bytes->empty()) return nullptr;
  return BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()), static_cast<int>(bytes->size()), nullptr);
}

Pkey key_from_jwk(const json& jwk) {
  std::string kty = string_member(jwk, "kty");
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!bld) return nullptr;
  const char* type = nullptr;
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  std::string point;
  bool ok = false;
  if (kty == "RSA") {
    type = "RSA";
    n = bn_of(jwk, "n");
    e = bn_of(jwk, "e");
    ok = n && e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
  } else if (kty == "EC" && string_member(jwk, "crv") == "P-256") {
    type = "EC";
    auto x = base64url_decode(string_member(jwk, "x"));
    auto y = base64url_decode(string_member(jwk, "y"));
    if (x && y && x->size() == 32 && y->size() == 32) {
      point = std::string(1, '\x04') + *x + *y;
      ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
           OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    }
  }
  EVP_PKEY* pkey = nullptr;
  if (ok) {
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) > 0) EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
  }
  BN_free(n);
  BN_free(e);
  OSSL_PARAM_BLD_free(bld);
  return Pkey(pkey);
}

// ES256 signatures are r||s (64 bytes); OpenSSL wants DER.
std::optional<std::string> ecdsa_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  auto integer = [](std::string_view half) {
    size_t i = 0;
    while (i + 1 < half.size() && half[i] == 0) ++i;
    std::string v(half.substr(i));
    if (static_cast<unsigned char>(v[0]) & 0x80) v.insert(v.begin(), '\0');
    return std::string{'\x02', static_cast<char>(v.size())} + v;
  };
  std::string body = integer(raw.substr(0, 32)) + integer(raw.substr(32));
  return std::string{'\x30', static_cast<char>(body.size())} + body;
}

}  // namespace

Result<JwtParts> split_jwt(std::string_view token) {
  auto d1 = token.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return Status::invalid_argument("the token is not a compact JWT");
  }
  auto header = base64url_decode(token.substr(0, d1));
  auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  auto sig = base64url_decode(token.substr(d2 + 1));
  if (!header || !payload || !sig) return Status::invalid_argument("the token is not valid base64url");
  JwtParts parts;
  parts.header = json::parse(*header, nullptr, false);
  parts.claims = json::parse(*payload, nullptr, false);
  if (!parts.header.is_object() || !parts.claims.is_object()) return Status::invalid_argument("the token is not JSON");
  parts.signing_input = std::string(token.substr(0, d2));
  parts.signature = std::move(*sig);
  return parts;
}

Status verify_signature(const JwtParts& parts, const json& jwk) {
  std::string alg = string_member(parts.header, "alg");
  const EVP_MD* md = nullptr;
  std::string sig = parts.signature;
  if (alg == "RS256") {
    md = EVP_sha256();
  } else if (alg == "RS384") {
    md = EVP_sha384();
  } else if (alg == "RS512") {
    md = EVP_sha512();
  } else if (alg == "ES256") {
    md = EVP_sha256();
    auto der = ecdsa_der(sig);
    if (!der) return Status::invalid_argument("malformed ES256 signature");
    sig = std::move(*der);
  } else {
    return Status::invalid_argument("unsupported signing algorithm " + alg);
  }
  Pkey key = key_from_jwk(jwk);
  if (!key) return Status::invalid_argument("the signing key is not usable");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key.get()) > 0 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(parts.signing_input.data()),
                             parts.signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? Status::ok() : Status::invalid_argument("signature verification failed");
}

Status check_claims(const json& claims, const std::string& issuer, const std::vector<std::string>& audience,
                    int64_t now_s) {
  if (claims.contains("exp") && claims["exp"].is_number() && claims["exp"].get<double>() <= static_cast<double>(now_s)) {
    return Status::invalid_argument("the token has expired");
  }
  if (claims.contains("nbf") && claims["nbf"].is_number() && claims["nbf"].get<double>() > static_cast<double>(now_s)) {
    return Status::invalid_argument("the token is not valid yet");
  }
  if (string_member(claims, "iss") != issuer) return Status::invalid_argument("the token's issuer is not " + issuer);
  if (audience.empty()) return Status::ok();
  std::vector<std::string> has;
  if (claims.contains("aud")) {
    if (claims["aud"].is_string()) has.push_back(claims["aud"].get<std::string>());
    if (claims["aud"].is_array()) {
      for (const auto& a : claims["aud"]) {
        if (a.is_string()) has.push_back(a.get<std::string>());
      }
    }
  } else if (claims.contains("client_id") && claims["client_id"].is_string()) {
    has.push_back(claims["client_id"].get<std::string>());
  }
  for (const auto& a : has) {
    for (const auto& want : audience) {
      if (a == want) return Status::ok();
    }
  }
  return Status::invalid_argument("the token's audience is not accepted");
}

JwksCache::JwksCache() = default;

JwksCache::~JwksCache() { stop(); }

void JwksCache::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& job : jobs_) job.done(Status::io_error("shutting down"));
  jobs_.clear();
}

const json* JwksCache::key_for(const json& keys, const JwtParts& parts) {
  std::string kid = string_member(parts.header, "kid");
  for (const auto& k : keys) {
    if (!k.is_object()) continue;
    if (kid.empty() || string_member(k, "kid") == kid) return &k;
  }
  return nullptr;
}

void JwksCache::finish(const Job& job, const json& keys) {
  auto parts = split_jwt(job.token);
  if (!parts.ok()) {
    job.done(parts.status());
    return;
  }
  const json* key = key_for(keys, parts.value());
  if (!key) {
    job.done(Status::invalid_argument("no key of the issuer matches the token's kid"));
    return;
  }
  if (Status st = verify_signature(parts.value(), *key); !st.is_ok()) {
    job.done(st);
    return;
  }
  if (Status st = check_claims(parts.value().claims, job.issuer, job.audience, job.now_s); !st.is_ok()) {
    job.done(st);
    return;
  }
  job.done(std::move(parts.value().claims));
}

void JwksCache::verify(std::string token, std::string issuer, std::vector<std::string> audience, int64_t now_s,
                       Done done) {
  auto parts = split_jwt(token);
  if (!parts.ok()) {
    done(parts.status());
    return;
  }
  Job job{std::move(token), std::move(issuer), std::move(audience), now_s, std::move(done)};
  json keys;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      job.done(Status::io_error("shutting down"));
      return;
    }
    auto it = cache_.find(job.issuer);
    // Known keys that hold the token's kid answer at once; else fetch (again, at most every 10 s).
    if (it != cache_.end() && (key_for(it->second.keys, parts.value()) || now_s - it->second.fetched_s < 10)) {
      keys = it->second.keys;
    } else {
      // The fetch thread starts with the first fetch: a daemon without JWT authorizers runs none.
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  finish(job, keys);
}

Result<json> JwksCache::fetch_keys(const std::string& issuer) {
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string jwks_uri = base + "/.well-known/jwks.json";
  http::ClientRequest discovery;
  discovery.url = base + "/.well-known/openid-configuration";
  discovery.timeout = std::chrono::milliseconds(3000);
  if (auto res = http::fetch(discovery); res.ok() && res->status == 200) {
    json doc = json::parse(res->body, nullptr, false);
    if (doc.is_object() && doc.contains("jwks_uri") && doc["jwks_uri"].is_string()) jwks_uri = doc["jwks_uri"];
  }
  http::ClientRequest req;
  req.url = jwks_uri;
  req.timeout = std::chrono::milliseconds(3000);
  auto res = http::fetch(req);
  if (!res.ok()) return Status::io_error("cannot fetch the JWKS at " + jwks_uri + ": " + res.status().message());
  if (res->status != 200) return Status::io_error("the JWKS at " + jwks_uri + " answered " + std::to_string(res->status));
  json doc = json::parse(res->body, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return Status::io_error("the JWKS at " + jwks_uri + " has no keys");
  }
  return doc["keys"];
}

void JwksCache::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    json keys;
    {
      std::lock_guard lock(mu_);
      auto it = cache_.find(job.issuer);
      if (it != cache_.end() && job.now_s - it->second.fetched_s < 10) keys = it->second.keys;
    }
    if (keys.is_null()) {
      auto fetched = fetch_keys(job.issuer);
      if (!fetched.ok()) {
        log::warn("JWT authorizer: {}", fetched.status().message());
        job.done(fetched.status());
        continue;
      }
      keys = std::move(fetched).value();
      std::lock_guard lock(mu_);
      cache_[job.issuer] = Keys{keys, job.now_s};
    }
    // The keys come from a server outside the daemon, and `done` carries the request on: an
    // exception here would end the daemon (this thread has no one to catch it).
    try {
      finish(job, keys);
    } catch (const std::exception& e) {
      log::error("JWT authorizer: verifying a token against {} failed: {}", job.issuer, e.what());
    }
  }
}

}  // namespace sless::services::apigateway
