// Bucket CORS: validation of a CORSConfiguration and the evaluation S3 does for preflight and
// actual requests (first rule whose origin, method and headers all match wins).
// Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "http/message.h"

namespace sless::services::s3 {

std::optional<ServiceError> validate_cors(const nlohmann::json& config);

// "*" and one-wildcard patterns ("http://*.example.com"), case-insensitively for headers.
bool wildcard_match(std::string_view pattern, std::string_view value, bool ignore_case);

// The first rule of `config` matching origin, method and (for preflights) the requested headers.
const nlohmann::json* find_cors_rule(const nlohmann::json& config, std::string_view origin, std::string_view method,
                                     const std::vector<std::string>& request_headers);

// The response headers for a matched rule (preflight adds methods, headers and max-age).
void add_cors_response_headers(const nlohmann::json& rule, std::string_view origin, bool preflight,
                               std::string_view requested_headers, http::Headers& out);

}  // namespace sless::services::s3
