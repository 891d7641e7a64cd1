// Helpers shared by the API Gateway service's files (not an interface of the service).
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "core/service_error.h"
#include "services/apigateway/apigateway.h"

namespace sless::services::apigateway {

struct ApiGatewayService::ApiEntry {
  std::mutex mu;  // guards doc and deleted; compiled is swapped atomically
  std::string account;
  std::string region;
  bool http = true;
  bool deleted = false;
  nlohmann::json doc;
  std::shared_ptr<const CompiledApi> compiled;
};

// API Gateway's timestamps: whole epoch seconds of the request's clock.
inline double now_s(const RequestContext& ctx) { return static_cast<double>(ctx.now_ms / 1000); }

// API Gateway ids: lower-case letters and digits.
inline std::string new_id(size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out(n, 'a');
  for (auto& c : out) c = kAlphabet[ids::random_u64() % 36];
  return out;
}

inline ServiceError bad_request(std::string message) {
  return ServiceError("BadRequestException", std::move(message), 400);
}
inline ServiceError not_found(std::string message) { return ServiceError("NotFoundException", std::move(message), 404); }
inline ServiceError conflict(std::string message) { return ServiceError("ConflictException", std::move(message), 409); }
inline ServiceError api_not_found(const std::string& id, bool v2) {
  return not_found(v2 ? "Invalid API identifier specified " + id : "Invalid API identifier specified " + id);
}

}  // namespace sless::services::apigateway
