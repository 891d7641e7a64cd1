// The data plane: a request to an API's stage → route → authorizer → Lambda proxy integration →
// HTTP response, with API Gateway's own errors (404/403 routes, 401/403 authorizers, 413 size,
// 502/500 bad function answers, 504 integration timeouts) and CORS from the API's config.
//
//   serve ─▶ stage ─▶ CORS preflight? ─▶ match_route ─▶ authorize ─▶ integrate ─▶ finish
//                                                   (JWT / Lambda, cached)   (Lambda invoke + timer)
#include <regex>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "protocol/codec.h"
#include "services/apigateway/events.h"
#include "services/apigateway/internal.h"
#include "services/apigateway/jwt.h"
#include "services/apigateway/text.h"
#include "services/lambda/lambda.h"
#include "services/registry.h"

namespace sless::services::apigateway {

using nlohmann::json;

namespace {

constexpr size_t kMaxPayload = 10u * 1024 * 1024;
constexpr size_t kMaxCachedAuth = 10000;  // cached authorizer answers, all APIs together

http::Response error_body(int status, json body, const char* error_type = nullptr) {
  http::Response r;
  r.status = status;
  r.headers.add("Content-Type", "application/json");
  if (error_type) r.headers.add("x-amzn-ErrorType", error_type);
  r.body = body.dump();
  return r;
}

http::Response message(int status, const char* text, const char* error_type = nullptr) {
  return error_body(status, json{{"message", text}}, error_type);
}

// The answer when a function fails or answers nonsense.
http::Response function_failed(bool http_api) {
  return http_api ? message(500, "Internal Server Error") : message(502, "Internal server error");
}
http::Response internal_error(bool http_api) {
  return http_api ? message(500, "Internal Server Error") : message(500, "Internal server error");
}
http::Response unauthorized(bool http_api) {
  return http_api ? message(401, "Unauthorized") : message(401, "Unauthorized", "UnauthorizedException");
}
http::Response forbidden(bool http_api, bool explicit_deny) {
  if (http_api) return message(403, "Forbidden");
  return error_body(403,
                    json{{"Message", explicit_deny
                                         ? "User is not authorized to access this resource with an explicit deny"
                                         : "User is not authorized to access this resource"}},
                    "AccessDeniedException");
}

std::string join(const json& list, const char* sep) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& v : list) {
    if (!v.is_string()) continue;
    if (!out.empty()) out += sep;
    out += v.get<std::string>();
  }
  return out;
}

bool contains(const json& list, std::string_view value, bool case_insensitive = false) {
  if (!list.is_array()) return false;
  for (const auto& v : list) {
    if (!v.is_string()) continue;
    const std::string& s = v.get_ref<const std::string&>();
    if (case_insensitive ? enc::iequals(s, value) : s == value) return true;
  }
  return false;
}

// The origin the CORS config allows for this request's Origin, or empty.
std::string allowed_origin(const json& cors, std::string_view origin) {
  if (origin.empty() || !cors.is_object()) return {};
  const json origins = cors.value("AllowOrigins", json::array());
  if (contains(origins, "*")) return cors.value("AllowCredentials", false) ? std::string(origin) : "*";
  for (const auto& o : origins) {
    if (o.is_string() && text::wildcard_match(o.get<std::string>(), origin)) return std::string(origin);
  }
  return {};
}

http::Response preflight(const json& cors, const http::Request& req) {
  http::Response r;
  r.status = 204;
  std::string origin = allowed_origin(cors, req.headers.get_or("origin", ""));
  if (origin.empty()) return r;
  r.headers.add("Access-Control-Allow-Origin", origin);
  std::string asked_method(req.headers.get_or("access-control-request-method", ""));
  const json methods = cors.value("AllowMethods", json::array());
  if (contains(methods, "*")) {
    r.headers.add("Access-Control-Allow-Methods", asked_method);
  } else if (!methods.empty()) {
    r.headers.add("Access-Control-Allow-Methods", join(methods, ","));
  }
  std::string asked_headers(req.headers.get_or("access-control-request-headers", ""));
  const json headers = cors.value("AllowHeaders", json::array());
  if (contains(headers, "*")) {
    if (!asked_headers.empty()) r.headers.add("Access-Control-Allow-Headers", asked_headers);
  } else if (!headers.empty()) {
    r.headers.add("Access-Control-Allow-Headers", join(headers, ","));
  }
  if (cors.contains("MaxAge") && cors["MaxAge"].is_number_integer()) {
    r.headers.add("Access-Control-Max-Age", std::to_string(cors["MaxAge"].get<int>()));
  }
  if (cors.value("AllowCredentials", false)) r.headers.add("Access-Control-Allow-Credentials", "true");
  return r;
}

// IAM policy evaluation for Lambda authorizer answers: -1 explicit deny, 1 allow, 0 neither.
int evaluate_policy(const json& policy, const std::string& arn) {
  if (!policy.is_object()) return 0;
  json statements = policy.value("Statement", json::array());
  if (statements.is_object()) statements = json::array({statements});
  int verdict = 0;
  auto as_list = [](const json& v) { return v.is_array() ? v : json::array({v}); };
  for (const auto& s : statements) {
    if (!s.is_object()) continue;
    bool action = false;
    for (const auto& a : as_list(s.value("Action", json(nullptr)))) {
      if (a.is_string() && text::wildcard_match(enc::to_lower(a.get<std::string>()), "execute-api:invoke")) action = true;
    }
    bool resource = false;
    for (const auto& r : as_list(s.value("Resource", json(nullptr)))) {
      if (r.is_string() && text::wildcard_match(r.get<std::string>(), arn)) resource = true;
    }
    if (!action || !resource) continue;
    std::string effect = enc::to_lower(s.value("Effect", ""));
    if (effect == "deny") return -1;
    if (effect == "allow") verdict = 1;
  }
  return verdict;
}

// JWT claims as HTTP API hands them to functions: every value a string.
json stringify_claims(const json& claims) {
  json out = json::object();
  for (const auto& [k, v] : claims.items()) {
    if (v.is_string()) {
      out[k] = v;
    } else if (v.is_array()) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + (v[i].is_string() ? v[i].get<std::string>() : v[i].dump());
      out[k] = s + "]";
    } else {
      out[k] = v.dump();
    }
  }
  return out;
}

std::vector<std::string> token_scopes(const json& claims) {
  std::vector<std::string> out;
  if (claims.contains("scope") && claims["scope"].is_string()) {
    for (auto s : text::split(claims["scope"].get_ref<const std::string&>(), ' ')) {
      if (!s.empty()) out.emplace_back(s);
    }
  } else if (claims.contains("scp")) {
    if (claims["scp"].is_string()) {
      for (auto s : text::split(claims["scp"].get_ref<const std::string&>(), ' ')) {
        if (!s.empty()) out.emplace_back(s);
      }
    } else if (claims["scp"].is_array()) {
      for (const auto& s : claims["scp"]) {
        if (s.is_string()) out.push_back(s.get<std::string>());
      }
    }
  }
  return out;
}

std::string ip_of(const std::string& remote) {
  auto colon = remote.rfind(':');
  std::string ip = colon == std::string::npos ? remote : remote.substr(0, colon);
  if (ip.size() > 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
  return ip.empty() ? "127.0.0.1" : ip;
}

}  // namespace

struct ApiGatewayService::Call {
  std::shared_ptr<const CompiledApi> api;
  http::Request request;
  RequestView view;
  json authorizer = nullptr;
  http::Handler::Respond respond;
  std::atomic<bool> answered{false};
  std::atomic<Scheduler::TimerId> timer{0};
  int64_t started_ms = 0;
};

void ApiGatewayService::serve(const std::string& api_id, http::Request request, const ServeOptions& options,
                              http::Handler::Respond respond) {
  auto call = std::make_shared<Call>();
  call->respond = std::move(respond);
  call->view.request_id = ids::uuid();
  call->view.now_ms = env_->clock->now_ms();
  call->started_ms = call->view.now_ms;
  call->api = compiled(api_id);
  if (!call->api) {
    finish(call, message(404, "Not Found"));
    return;
  }
  const CompiledApi& api = *call->api;
  call->request = std::move(request);
  const http::Request& req = call->request;
  RequestView& v = call->view;
  v.api = &api;
  v.method = req.method;
  v.raw_query = std::string(req.raw_query());
  v.headers = &req.headers;
  v.body = &req.body;
  v.source_ip = ip_of(req.remote);
  v.domain = std::string(req.host());
  std::string path(req.path());
  if (!options.strip_prefix.empty() && path.rfind(options.strip_prefix, 0) == 0) path.erase(0, options.strip_prefix.size());
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');

  // The stage: fixed (the stack's port), named by the first segment, or $default.
  std::vector<std::string> segments = split_path(path);
  const Stage* stage = nullptr;
  if (!options.stage.empty()) {
    auto it = api.stages.find(options.stage);
    if (it != api.stages.end()) stage = &it->second;
    v.path = path;
    v.full_path = path;
  } else {
    auto it = segments.empty() ? api.stages.end() : api.stages.find(segments.front());
    if (it != api.stages.end() && it->first != "$default") {
      stage = &it->second;
      segments.erase(segments.begin());
      v.full_path = path;
      v.path = path.substr(it->first.size() + 1);
      if (v.path.empty()) v.path = "/";
    } else if (auto d = api.stages.find("$default"); d != api.stages.end()) {
      stage = &d->second;
      v.path = path;
      v.full_path = path;
    }
  }
  if (!stage || !stage->routes) {
    finish(call, api.http ? message(404, "Not Found") : message(403, "Forbidden", "ForbiddenException"));
    return;
  }
  v.stage = stage;
  if (req.body.size() > kMaxPayload) {
    finish(call, message(413, api.http ? "Request Entity Too Large" : "Request Too Long"));
    return;
  }
  if (req.method == "OPTIONS" && api.cors.is_object() && req.headers.has("origin") &&
      req.headers.has("access-control-request-method")) {
    finish(call, preflight(api.cors, req));
    return;
  }
  const Route* route = match_route(*stage->routes, req.method, segments, v.path_params);
  if (!route) {
    finish(call, api.http ? message(404, "Not Found")
                          : message(403, "Missing Authentication Token", "MissingAuthenticationTokenException"));
    return;
  }
  v.route = route;
  if (!route->has_integration) {
    finish(call, api.http ? message(404, "Not Found") : internal_error(false));
    return;
  }
  authorize(call);
}

void ApiGatewayService::authorize(std::shared_ptr<Call> call) {
  const Route& route = *call->view.route;
  const bool http_api = call->api->http;
  if (route.auth_type == "NONE" || route.auth_type == "AWS_IAM" || !route.authorizer) {
    // AWS_IAM: sless verifies no signatures, so every caller passes.
    integrate(std::move(call));
    return;
  }
  const Authorizer& a = *route.authorizer;
  const RequestView& v = call->view;

  // The identity: every source must be present and non-empty, else 401.
  std::vector<std::string> identity;
  for (const auto& src : a.identity) {
    std::string value;
    switch (src.kind) {
      case IdentitySource::Kind::kHeader:
        value = std::string(call->request.headers.get_or(src.name, ""));
        break;
      case IdentitySource::Kind::kQuery:
        for (const auto& q : http::parse_query(v.raw_query)) {
          if (q.key == src.name) value = q.value;
        }
        break;
      case IdentitySource::Kind::kStageVariable: {
        auto it = v.stage->variables.find(src.name);
        if (it != v.stage->variables.end()) value = it->second;
        break;
      }
      case IdentitySource::Kind::kContext:
        if (src.name == "identity.sourceIp") value = v.source_ip;
        if (src.name == "requestId") value = v.request_id;
        if (src.name == "stage") value = v.stage->name;
        break;
    }
    if (value.empty()) {
      finish(call, unauthorized(http_api));
      return;
    }
    identity.push_back(std::move(value));
  }

  if (a.type == "JWT") {
    std::string token = identity.empty() ? std::string() : identity.front();
    if (token.size() > 7 && enc::iequals(token.substr(0, 7), "bearer ")) token.erase(0, 7);
    std::vector<std::string> scopes = route.scopes;
    auto self = this;
    jwks_->verify(token, a.issuer, a.audience, v.now_ms / 1000,
                  [self, call, scopes, http_api](Result<json> claims) mutable {
                    if (!claims.ok()) {
                      log::debug("JWT refused: {} [{}]", claims.status().message(), call->view.request_id);
                      self->finish(call, unauthorized(http_api));
                      return;
                    }
                    std::vector<std::string> has = token_scopes(claims.value());
                    if (!scopes.empty()) {
                      bool any = false;
                      for (const auto& s : scopes) {
                        if (std::find(has.begin(), has.end(), s) != has.end()) any = true;
                      }
                      if (!any) {
                        self->finish(call, forbidden(true, false));
                        return;
                      }
                    }
                    json scope_list = has.empty() ? json(nullptr) : json(has);
                    json claims_out = stringify_claims(claims.value());
                    bool v2 = call->view.route->integration.payload_version == "2.0";
                    call->authorizer = v2 ? json{{"jwt", {{"claims", claims_out}, {"scopes", scope_list}}}}
                                          : json{{"claims", claims_out}, {"scopes", scope_list}};
                    self->integrate(call);
                  });
    return;
  }
  if (a.type != "REQUEST" && a.type != "TOKEN") {
    log::warn("authorizer type {} is not supported by sless [{}]", a.type, v.request_id);
    finish(call, internal_error(http_api));
    return;
  }
  if (a.type == "TOKEN" && identity.empty()) {
    log::warn("TOKEN authorizer {} has no identity source [{}]", a.name, v.request_id);
    finish(call, internal_error(http_api));
    return;
  }
  if (a.type == "TOKEN" && !a.validation_expression.empty()) {
    try {
      if (!std::regex_match(identity.front(), std::regex(a.validation_expression))) {
        finish(call, unauthorized(http_api));
        return;
      }
    } catch (const std::regex_error&) {
      finish(call, internal_error(http_api));
      return;
    }
  }

  // Applies an authorizer's answer (fresh or cached) to the call.
  auto apply = [this, call, http_api](const json& result, int64_t latency_ms) {
    const Authorizer& auth = *call->view.route->authorizer;
    json context = result.value("context", json::object());
    if (!context.is_object()) context = json::object();
    if (http_api && auth.simple_responses) {
      if (!result.contains("isAuthorized") || !result["isAuthorized"].is_boolean()) {
        finish(call, internal_error(true));
        return;
      }
      if (!result["isAuthorized"].get<bool>()) {
        finish(call, forbidden(true, false));
        return;
      }
    } else {
      if (!result.contains("policyDocument") || !result.contains("principalId")) {
        finish(call, internal_error(http_api));
        return;
      }
      int verdict = evaluate_policy(result["policyDocument"], method_arn(call->view));
      if (verdict <= 0) {
        finish(call, forbidden(http_api, verdict < 0));
        return;
      }
    }
    if (http_api) {
      call->authorizer = json{{"lambda", context}};
    } else {
      json a = json::object();
      for (const auto& [k, val] : context.items()) a[k] = val.is_string() ? val : json(val.dump());
      a["principalId"] = result.value("principalId", json(nullptr));
      a["integrationLatency"] = latency_ms;
      call->authorizer = std::move(a);
    }
    integrate(call);
  };

  std::string cache_key;
  if (a.ttl_s > 0 && !identity.empty()) {
    cache_key = call->api->id + "\n" + a.id + "\n";
    for (const auto& i : identity) cache_key += i + "\n";
    std::optional<json> cached;
    {
      std::lock_guard lock(auth_mu_);
      auto it = auth_cache_.find(cache_key);
      if (it != auth_cache_.end()) {
        if (it->second.expires_ms > v.now_ms) {
          cached = it->second.result;
        } else {
          auth_cache_.erase(it);
        }
      }
    }
    if (cached) {
      apply(*cached, 0);
      return;
    }
  }
  std::string token = a.type == "TOKEN" ? identity.front() : std::string();
  json event = authorizer_event(v, a, token, identity);
  auto* lambda = env_->registry->get<lambda::LambdaService>("lambda");
  if (!lambda) {
    finish(call, internal_error(http_api));
    return;
  }
  int64_t started = env_->clock->now_ms();
  int ttl = a.ttl_s;
  lambda->invoke(lambda::InternalInvoke{call->api->account, call->api->region, a.function_arn, event.dump(), false},
                 [this, call, apply, cache_key, started, ttl, http_api](Outcome<host::InvokeResult> out) {
                   if (!out.ok()) {
                     log::warn("authorizer function: {} [{}]", out.error().message, call->view.request_id);
                     finish(call, internal_error(http_api));
                     return;
                   }
                   const host::InvokeResult& r = out.value();
                   json result = json::parse(r.payload, nullptr, false);
                   if (r.kind != host::InvokeResult::Kind::kOk) {
                     bool denied = result.is_object() && result.value("errorMessage", "") == "Unauthorized";
                     finish(call, denied ? unauthorized(http_api) : internal_error(http_api));
                     return;
                   }
                   if (!result.is_object()) {
                     finish(call, internal_error(http_api));
                     return;
                   }
                   int64_t now = env_->clock->now_ms();
                   if (!cache_key.empty()) {
                     std::lock_guard lock(auth_mu_);
                     if (auth_cache_.size() >= kMaxCachedAuth) {  // drop what has expired first
                       for (auto it = auth_cache_.begin(); it != auth_cache_.end();) {
                         it = it->second.expires_ms <= now ? auth_cache_.erase(it) : std::next(it);
                       }
                       if (auth_cache_.size() >= kMaxCachedAuth) auth_cache_.clear();
                     }
                     auth_cache_[cache_key] = CachedAuth{now + int64_t{ttl} * 1000, result};
                   }
                   apply(result, now - started);
                 });
}

void ApiGatewayService::integrate(std::shared_ptr<Call> call) {
  const Route& route = *call->view.route;
  const bool http_api = call->api->http;
  auto* lambda = env_->registry->get<lambda::LambdaService>("lambda");
  if (!lambda || route.integration.function_arn.empty()) {
    finish(call, internal_error(http_api));
    return;
  }
  bool v2 = route.integration.payload_version == "2.0";
  std::string payload = v2 ? event_v2_text(call->view, call->authorizer)
                           : protocol::dump(event_v1(call->view, call->authorizer));
  int timeout = route.integration.timeout_ms > 0 ? route.integration.timeout_ms : 29000;
  call->timer = env_->scheduler->after(std::chrono::milliseconds(timeout), [this, call, http_api] {
    call->timer = 0;
    finish(call, http_api ? message(504, "Gateway Timeout") : message(504, "Endpoint request timed out"));
  });
  lambda->invoke(
      lambda::InternalInvoke{call->api->account, call->api->region, route.integration.function_arn, std::move(payload), false},
      [this, call, v2, http_api](Outcome<host::InvokeResult> out) {
        if (!out.ok()) {
          log::warn("integration: {} [{}]", out.error().message, call->view.request_id);
          finish(call, internal_error(http_api));
          return;
        }
        const host::InvokeResult& r = out.value();
        if (r.kind == host::InvokeResult::Kind::kThrottled) {
          finish(call, message(429, "Too Many Requests"));
          return;
        }
        if (r.kind == host::InvokeResult::Kind::kFunctionError) {
          finish(call, function_failed(http_api));
          return;
        }
        auto res = v2 ? response_v2(r.payload) : response_v1(r.payload);
        if (!res) {
          log::info("malformed Lambda proxy response [{}]", call->view.request_id);
          finish(call, function_failed(http_api));
          return;
        }
        finish(call, std::move(*res));
      });
}

void ApiGatewayService::finish(const std::shared_ptr<Call>& call, http::Response response) {
  if (call->answered.exchange(true)) return;
  if (Scheduler::TimerId t = call->timer.exchange(0)) env_->scheduler->cancel(t);
  if (call->api && call->api->cors.is_object()) {
    std::string origin = allowed_origin(call->api->cors, call->request.headers.get_or("origin", ""));
    if (!origin.empty()) {
      response.headers.set("Access-Control-Allow-Origin", origin);
      const json expose = call->api->cors.value("ExposeHeaders", json::array());
      if (!expose.empty()) response.headers.set("Access-Control-Expose-Headers", join(expose, ","));
      if (call->api->cors.value("AllowCredentials", false)) {
        response.headers.set("Access-Control-Allow-Credentials", "true");
      }
    }
  }
  if (!call->api || call->api->http) {
    response.headers.add("Apigw-Requestid", call->view.request_id);
  } else {
    response.headers.add("x-amzn-RequestId", call->view.request_id);
  }
  if (call->request.method == "HEAD") response.body.clear();
  call->respond(std::move(response));
}

}  // namespace sless::services::apigateway
