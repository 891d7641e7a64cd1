// The data plane's view of an API: its stages, each with an immutable set of routes (method and
// path template → Lambda proxy integration and authorizer), compiled from the API's document on
// every change. Shared read-only between io threads through shared_ptr<const ...>.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace sless::services::apigateway {

struct Integration {
  std::string type;            // AWS_PROXY (the only type the data plane runs)
  std::string function_arn;    // the Lambda function the integration invokes
  std::string payload_version; // "1.0" or "2.0"
  int timeout_ms = 29000;
};

// Where an authorizer finds the caller's identity: "$request.header.Authorization",
// "method.request.querystring.token", "$context.x", "$stageVariables.x".
struct IdentitySource {
  enum class Kind { kHeader, kQuery, kContext, kStageVariable };
  Kind kind = Kind::kHeader;
  std::string name;
};

struct Authorizer {
  std::string id;
  std::string name;
  std::string type;                    // REQUEST, TOKEN (REST), JWT (HTTP), COGNITO_USER_POOLS (REST)
  std::string function_arn;            // Lambda authorizers
  std::vector<IdentitySource> identity;
  int ttl_s = 0;                       // result cache time; 0 = no caching
  bool simple_responses = false;       // HTTP API Lambda authorizers: {"isAuthorized": bool}
  std::string payload_version = "1.0"; // HTTP API Lambda authorizers: "1.0" or "2.0"
  std::string validation_expression;   // TOKEN: the token must match this regex
  std::string issuer;                  // JWT
  std::vector<std::string> audience;   // JWT
  std::vector<std::string> provider_arns;  // COGNITO_USER_POOLS
};

struct Route {
  std::string method;                  // "GET", ..., or "ANY"
  std::vector<std::string> segments;   // path template split at '/', "{id}" and "{proxy+}" kept
  bool is_default = false;             // HTTP API "$default" route
  std::string key;                     // HTTP API route key ("GET /items/{id}"); REST resource path
  std::string id;                      // route id (HTTP) or resource id (REST)
  bool has_integration = false;
  Integration integration;
  std::string auth_type = "NONE";      // NONE, CUSTOM, JWT, AWS_IAM, COGNITO_USER_POOLS
  std::shared_ptr<const Authorizer> authorizer;
  std::vector<std::string> scopes;     // JWT: the route's AuthorizationScopes
};

struct RouteSet {
  std::vector<Route> routes;
};

struct Stage {
  std::string name;
  std::map<std::string, std::string> variables;
  std::shared_ptr<const RouteSet> routes;
};

struct CompiledApi {
  std::string id;
  std::string account;
  std::string region;
  std::string name;
  bool http = true;                       // HTTP API (v2) or REST API (v1)
  nlohmann::json cors;                    // v2 CorsConfiguration, or null
  std::vector<std::string> binary_media_types;  // REST
  std::map<std::string, Stage> stages;
};

// A path template split into segments ("/items/{id}" → {"items", "{id}"}); "/" → {}.
std::vector<std::string> split_path(std::string_view path);

// The route that serves `method path` (path already without the stage), or nullptr. Fills
// `params` with the path parameters (percent-decoded). `path_matched` tells, when nothing
// matched, whether some route had that path (REST answers differently then).
const Route* match_route(const RouteSet& set, std::string_view method, const std::vector<std::string>& path,
                         std::map<std::string, std::string>& params);

// Parses "GET /items/{id}", "ANY /{proxy+}", "$default" into a route's method and segments.
// Errors name what is wrong (for BadRequestException).
Result<Route> parse_route_key(const std::string& key);

// The Lambda function ARN an integration URI names (the function ARN itself, or
// arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations), or empty.
std::string function_arn_of_uri(std::string_view uri);

// Parses an identity source list entry of either API flavour.
std::optional<IdentitySource> parse_identity_source(std::string_view text);

// Compiles the API document (see apigateway.h) into the data plane's form.
Result<std::shared_ptr<const CompiledApi>> compile_api(const nlohmann::json& doc);

}  // namespace sless::services::apigateway
