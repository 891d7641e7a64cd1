// Helpers shared by the API Gateway service's files (not an interface of the service).
#pragma once

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

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

// A stage variable as both API versions accept it: the name of word characters (at most 64), the
// value not empty, of at most 512 alphanumerics, spaces and -._~:/?#&=, characters. The messages
// are the ones API Gateway answers with.
inline std::optional<ServiceError> stage_variable_error(std::string_view name, std::string_view value) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), word)) {
    return bad_request("Invalid stage variable name: " + std::string(name) +
                       ".  Please use names with only word characters.");
  }
  auto allowed = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view(" -._~:/?#&=,").find(c) != std::string_view::npos;
  };
  if (value.empty() || value.size() > 512 || !std::all_of(value.begin(), value.end(), allowed)) {
    return bad_request("Invalid stage variable value: " + std::string(value) +
                       ".  Please use values with alphanumeric characters and the symbols ' ', '-', '.', '_', ':', "
                       "'/', '?', '&', '=', and ','.");
  }
  return std::nullopt;
}

// The first bad variable of a request's map of stage variables (absent or not an object: none).
inline std::optional<ServiceError> stage_variables_error(const nlohmann::json& params, const char* member) {
  auto it = params.find(member);
  if (it == params.end() || !it->is_object()) return std::nullopt;
  for (const auto& [name, value] : it->items()) {
    if (!value.is_string()) return bad_request("Invalid stage variable value for " + name + ": it must be a string.");
    if (auto err = stage_variable_error(name, value.get_ref<const std::string&>())) return err;
  }
  return std::nullopt;
}

}  // namespace sless::services::apigateway
