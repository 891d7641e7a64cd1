// The Lambda proxy integration's wire shapes: the events API Gateway sends a function (payload
// formats 1.0 and 2.0, authorizer events) and the mapping of a function's answer back to HTTP.
// Pure functions; any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/message.h"
#include "services/apigateway/routes.h"

namespace sless::services::apigateway {

// One request as the events describe it.
struct RequestView {
  const CompiledApi* api = nullptr;
  const Stage* stage = nullptr;
  const Route* route = nullptr;
  std::string method;
  std::string path;          // the path the route matched (without the stage)
  std::string full_path;     // the path as requested (with the stage, when the URL named one)
  std::string raw_query;
  const http::Headers* headers = nullptr;
  const std::string* body = nullptr;
  std::string source_ip;
  std::string domain;        // the Host the client used
  std::string request_id;
  int64_t now_ms = 0;
  std::map<std::string, std::string> path_params;
};

// 1.0 (REST APIs, and HTTP APIs with PayloadFormatVersion 1.0). `authorizer` is the
// requestContext.authorizer member (null: none).
nlohmann::json event_v1(const RequestView& r, const nlohmann::json& authorizer);
// 2.0 (HTTP APIs), as the JSON text of every HTTP API invocation: written directly, in the bytes
// protocol::dump would write for the tree (building a tree and writing it cost more than the rest
// of the request's own work). event_v2 is that text parsed, for authorizer events.
std::string event_v2_text(const RequestView& r, const nlohmann::json& authorizer);
nlohmann::json event_v2(const RequestView& r, const nlohmann::json& authorizer);

// Authorizer events: REST TOKEN and REQUEST, HTTP API REQUEST in 1.0 and 2.0.
nlohmann::json authorizer_event(const RequestView& r, const Authorizer& a, const std::string& token,
                                const std::vector<std::string>& identity);

// The ARN an authorizer's policy is checked against:
// arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path without leading slash>
std::string method_arn(const RequestView& r);

// Maps a function's answer to the HTTP response (nullopt: malformed, 502/500).
std::optional<http::Response> response_v1(const std::string& payload);
std::optional<http::Response> response_v2(const std::string& payload);

// Whether a body of this content type reaches the function base64-encoded.
bool body_is_binary(const CompiledApi& api, std::string_view content_type, const std::string& body);

// CLF-style time API Gateway puts in requestContext: 09/Apr/2015:12:34:56 +0000
std::string request_time(int64_t epoch_ms);

}  // namespace sless::services::apigateway
