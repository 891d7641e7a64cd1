// JWT authorizers: verifies a token's signature against its issuer's JSON Web Key Set and its
// claims (exp, nbf, iss, aud/client_id). Key sets are fetched over HTTP on the cache's own thread
// (never on the io threads; the thread starts with the first fetch) and cached per issuer.
// verify() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace sless::services::apigateway {

// The parts of a compact JWS.
struct JwtParts {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signing_input;  // "<header>.<payload>" as sent
  std::string signature;      // decoded bytes
};
Result<JwtParts> split_jwt(std::string_view token);

// Checks the signature of `parts` with one JWK (RSA: RS256/384/512; EC P-256: ES256).
Status verify_signature(const JwtParts& parts, const nlohmann::json& jwk);

// Checks exp, nbf, iss and (when `audience` is not empty) aud or client_id.
Status check_claims(const nlohmann::json& claims, const std::string& issuer, const std::vector<std::string>& audience,
                    int64_t now_s);

class JwksCache {
 public:
  using Done = std::function<void(Result<nlohmann::json>)>;  // the claims, or why the token is refused
  JwksCache();
  ~JwksCache();
  // Verifies `token` for the issuer and audience. `done` runs on the caller's thread when the keys
  // are cached, else on the cache's thread once they are fetched.
  void verify(std::string token, std::string issuer, std::vector<std::string> audience, int64_t now_s, Done done);
  // Ends the fetch thread; later verifications fail.
  void stop();

 private:
  struct Job {
    std::string token;
    std::string issuer;
    std::vector<std::string> audience;
    int64_t now_s;
    Done done;
  };
  struct Keys {
    nlohmann::json keys = nlohmann::json::array();
    int64_t fetched_s = 0;
  };
  void run();
  Result<nlohmann::json> fetch_keys(const std::string& issuer);
  // Finds the key for the token's kid, or nullptr.
  static const nlohmann::json* key_for(const nlohmann::json& keys, const JwtParts& parts);
  void finish(const Job& job, const nlohmann::json& keys);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::map<std::string, Keys> cache_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sless::services::apigateway
