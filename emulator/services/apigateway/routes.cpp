#include "services/apigateway/routes.h"

#include <algorithm>

#include "core/encoding.h"
#include "services/apigateway/text.h"

namespace sless::services::apigateway {

using nlohmann::json;

namespace {

bool is_param(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }
bool is_greedy(std::string_view seg) { return is_param(seg) && seg[seg.size() - 2] == '+'; }

std::string param_name(std::string_view seg) {
  seg = seg.substr(1, seg.size() - 2);
  if (!seg.empty() && seg.back() == '+') seg.remove_suffix(1);
  return std::string(seg);
}

// How specific a route is: per segment literal (0) < parameter (1) < greedy (2), compared
// left to right; then a named method beats ANY.
bool more_specific(const Route& a, const Route& b) {
  size_t n = std::min(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    auto rank = [](const std::string& s) { return is_greedy(s) ? 2 : is_param(s) ? 1 : 0; };
    int ra = rank(a.segments[i]);
    int rb = rank(b.segments[i]);
    if (ra != rb) return ra < rb;
  }
  if (a.segments.size() != b.segments.size()) return a.segments.size() > b.segments.size();
  return a.method != "ANY" && b.method == "ANY";
}

bool matches(const Route& r, const std::vector<std::string>& path, std::map<std::string, std::string>* params) {
  size_t i = 0;
  for (; i < r.segments.size(); ++i) {
    const std::string& seg = r.segments[i];
    if (is_greedy(seg)) {
      if (i >= path.size()) return false;
      if (params) {
        std::string rest;
        for (size_t j = i; j < path.size(); ++j) rest += (j > i ? "/" : "") + enc::percent_decode(path[j]);
        (*params)[param_name(seg)] = rest;
      }
      return true;
    }
    if (i >= path.size()) return false;
    if (is_param(seg)) {
      if (path[i].empty()) return false;
      if (params) (*params)[param_name(seg)] = enc::percent_decode(path[i]);
    } else if (seg != path[i]) {
      return false;
    }
  }
  return i == path.size();
}

using text::str;

std::shared_ptr<Authorizer> compile_authorizer(const json& a, bool http) {
  auto out = std::make_shared<Authorizer>();
  if (http) {
    out->id = str(a, "AuthorizerId");
    out->name = str(a, "Name");
    out->type = str(a, "AuthorizerType");
    out->function_arn = function_arn_of_uri(str(a, "AuthorizerUri"));
    for (const auto& s : a.value("IdentitySource", json::array())) {
      if (!s.is_string()) continue;
      // An HTTP API identity source entry may itself hold a comma-separated list.
      for (const auto& part : text::split(s.get_ref<const std::string&>(), ',')) {
        if (auto src = parse_identity_source(text::trim(part))) out->identity.push_back(*src);
      }
    }
    out->ttl_s = a.value("AuthorizerResultTtlInSeconds", 0);
    out->simple_responses = a.value("EnableSimpleResponses", false);
    out->payload_version = a.value("AuthorizerPayloadFormatVersion", std::string("2.0"));
    if (auto jwt = a.find("JwtConfiguration"); jwt != a.end() && jwt->is_object()) {
      out->issuer = str(*jwt, "Issuer");
      for (const auto& aud : jwt->value("Audience", json::array())) {
        if (aud.is_string()) out->audience.push_back(aud.get<std::string>());
      }
    }
  } else {
    out->id = str(a, "id");
    out->name = str(a, "name");
    out->type = str(a, "type");
    out->function_arn = function_arn_of_uri(str(a, "authorizerUri"));
    const std::string sources = str(a, "identitySource");
    for (const auto& part : text::split(sources, ',')) {
      if (auto src = parse_identity_source(text::trim(part))) out->identity.push_back(*src);
    }
    out->ttl_s = a.contains("authorizerResultTtlInSeconds") && a["authorizerResultTtlInSeconds"].is_number()
                     ? a["authorizerResultTtlInSeconds"].get<int>()
                     : 300;
    out->validation_expression = str(a, "identityValidationExpression");
    for (const auto& p : a.value("providerARNs", json::array())) {
      if (p.is_string()) out->provider_arns.push_back(p.get<std::string>());
    }
  }
  return out;
}

using AuthorizerMap = std::map<std::string, std::shared_ptr<const Authorizer>>;

AuthorizerMap compile_authorizers(const json& authorizers, bool http) {
  AuthorizerMap out;
  for (const auto& [id, a] : authorizers.items()) out[id] = compile_authorizer(a, http);
  return out;
}

// HTTP API: routes, integrations and authorizers (live, or a deployment's snapshot).
std::shared_ptr<const RouteSet> compile_http_routes(const json& src) {
  auto set = std::make_shared<RouteSet>();
  AuthorizerMap authorizers = compile_authorizers(src.value("authorizers", json::object()), true);
  const json integrations = src.value("integrations", json::object());
  for (const auto& [id, r] : text::object_member(src, "routes").items()) {
    auto parsed = parse_route_key(str(r, "RouteKey"));
    if (!parsed.ok()) continue;
    Route route = std::move(parsed).value();
    route.id = id;
    std::string target = str(r, "Target");
    if (enc::starts_with(target, "integrations/")) {
      auto it = integrations.find(target.substr(13));
      if (it != integrations.end()) {
        route.has_integration = true;
        route.integration.type = str(*it, "IntegrationType");
        route.integration.function_arn = function_arn_of_uri(str(*it, "IntegrationUri"));
        route.integration.payload_version = it->value("PayloadFormatVersion", std::string("2.0"));
        route.integration.timeout_ms = it->value("TimeoutInMillis", 30000);
      }
    }
    route.auth_type = r.value("AuthorizationType", std::string("NONE"));
    if (auto a = authorizers.find(str(r, "AuthorizerId")); a != authorizers.end()) route.authorizer = a->second;
    for (const auto& s : r.value("AuthorizationScopes", json::array())) {
      if (s.is_string()) route.scopes.push_back(s.get<std::string>());
    }
    set->routes.push_back(std::move(route));
  }
  return set;
}

// REST API: the resource tree with its methods (always a deployment's snapshot).
std::shared_ptr<const RouteSet> compile_rest_routes(const json& src) {
  auto set = std::make_shared<RouteSet>();
  AuthorizerMap authorizers = compile_authorizers(src.value("authorizers", json::object()), false);
  for (const auto& [id, res] : text::object_member(src, "resources").items()) {
    std::string path = str(res, "path");
    for (const auto& [method, m] : text::object_member(res, "resourceMethods").items()) {
      Route route;
      route.method = method;
      route.segments = split_path(path);
      route.key = path;
      route.id = id;
      if (auto integ = m.find("methodIntegration"); integ != m.end() && integ->is_object()) {
        route.has_integration = true;
        route.integration.type = str(*integ, "type");
        route.integration.function_arn = function_arn_of_uri(str(*integ, "uri"));
        route.integration.payload_version = "1.0";
        route.integration.timeout_ms = integ->value("timeoutInMillis", 29000);
      }
      route.auth_type = m.value("authorizationType", std::string("NONE"));
      if (auto a = authorizers.find(str(m, "authorizerId")); a != authorizers.end()) route.authorizer = a->second;
      for (const auto& s : m.value("authorizationScopes", json::array())) {
        if (s.is_string()) route.scopes.push_back(s.get<std::string>());
      }
      set->routes.push_back(std::move(route));
    }
  }
  return set;
}

}  // namespace

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  for (auto& s : text::split(path, '/')) out.push_back(std::string(s));
  return out;
}

const Route* match_route(const RouteSet& set, std::string_view method, const std::vector<std::string>& path,
                         std::map<std::string, std::string>& params) {
  const Route* best = nullptr;
  const Route* fallback = nullptr;
  for (const Route& r : set.routes) {
    if (r.is_default) {
      fallback = &r;
      continue;
    }
    if (r.method != "ANY" && r.method != method) continue;
    if (!matches(r, path, nullptr)) continue;
    if (!best || more_specific(r, *best)) best = &r;
  }
  if (!best) best = fallback;
  if (best && !best->is_default) matches(*best, path, &params);
  return best;
}

Result<Route> parse_route_key(const std::string& key) {
  Route r;
  r.key = key;
  if (key == "$default") {
    r.is_default = true;
    r.method = "ANY";
    return r;
  }
  auto space = key.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= key.size() || key[space + 1] != '/') {
    return Status::invalid_argument("Unable to parse route key " + key +
                                    ": expected '$default' or '<METHOD> /<path>'");
  }
  r.method = key.substr(0, space);
  static const char* kMethods[] = {"ANY", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
  if (std::find(std::begin(kMethods), std::end(kMethods), r.method) == std::end(kMethods)) {
    return Status::invalid_argument("Unable to parse route key " + key + ": unknown method " + r.method);
  }
  r.segments = split_path(std::string_view(key).substr(space + 1));
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const std::string& s = r.segments[i];
    if (s.empty()) return Status::invalid_argument("Unable to parse route key " + key + ": empty path segment");
    if (is_greedy(s) && i + 1 != r.segments.size()) {
      return Status::invalid_argument("Unable to parse route key " + key + ": a greedy path variable must be last");
    }
    if ((s.front() == '{') != (s.back() == '}')) {
      return Status::invalid_argument("Unable to parse route key " + key + ": unbalanced braces in " + s);
    }
  }
  return r;
}

std::string function_arn_of_uri(std::string_view uri) {
  constexpr std::string_view kMarker = ":lambda:path/2015-03-31/functions/";
  auto pos = uri.find(kMarker);
  if (pos != std::string_view::npos) {
    std::string_view rest = uri.substr(pos + kMarker.size());
    auto end = rest.find("/invocations");
    return std::string(rest.substr(0, end));
  }
  if (enc::starts_with(uri, "arn:aws:lambda:")) return std::string(uri);
  return {};
}

std::optional<IdentitySource> parse_identity_source(std::string_view text) {
  struct Prefix {
    std::string_view text;
    IdentitySource::Kind kind;
  };
  static const Prefix kPrefixes[] = {
      {"$request.header.", IdentitySource::Kind::kHeader},
      {"$request.querystring.", IdentitySource::Kind::kQuery},
      {"method.request.header.", IdentitySource::Kind::kHeader},
      {"method.request.querystring.", IdentitySource::Kind::kQuery},
      {"$context.", IdentitySource::Kind::kContext},
      {"context.", IdentitySource::Kind::kContext},
      {"$stageVariables.", IdentitySource::Kind::kStageVariable},
      {"stageVariables.", IdentitySource::Kind::kStageVariable},
  };
  for (const auto& p : kPrefixes) {
    if (enc::starts_with(text, p.text) && text.size() > p.text.size()) {
      return IdentitySource{p.kind, std::string(text.substr(p.text.size()))};
    }
  }
  return std::nullopt;
}

Result<std::shared_ptr<const CompiledApi>> compile_api(const json& doc) {
  auto api = std::make_shared<CompiledApi>();
  api->id = str(doc, "id");
  api->account = str(doc, "account");
  api->region = str(doc, "region");
  api->http = str(doc, "protocol") == "HTTP";
  const json& meta = doc.value("api", json::object());
  if (api->http) {
    api->name = str(meta, "Name");
    if (meta.contains("CorsConfiguration")) api->cors = meta["CorsConfiguration"];
    std::shared_ptr<const RouteSet> live = compile_http_routes(doc);
    const json deployments = doc.value("deployments", json::object());
    for (const auto& [name, s] : text::object_member(doc, "stages").items()) {
      Stage stage;
      stage.name = name;
      for (const auto& [k, v] : text::object_member(s, "StageVariables").items()) {
        if (v.is_string()) stage.variables[k] = v.get<std::string>();
      }
      stage.routes = live;
      std::string dep = str(s, "DeploymentId");
      if (!s.value("AutoDeploy", false) && !dep.empty()) {
        auto d = deployments.find(dep);
        if (d != deployments.end() && d->contains("snapshot")) stage.routes = compile_http_routes((*d)["snapshot"]);
      }
      api->stages[name] = std::move(stage);
    }
  } else {
    api->name = str(meta, "name");
    if (doc.contains("cors") && doc["cors"].is_object()) api->cors = doc["cors"];
    for (const auto& t : meta.value("binaryMediaTypes", json::array())) {
      if (t.is_string()) api->binary_media_types.push_back(t.get<std::string>());
    }
    const json deployments = doc.value("deployments", json::object());
    for (const auto& [name, s] : text::object_member(doc, "stages").items()) {
      auto d = deployments.find(str(s, "deploymentId"));
      if (d == deployments.end() || !d->contains("snapshot")) continue;
      Stage stage;
      stage.name = name;
      for (const auto& [k, v] : text::object_member(s, "variables").items()) {
        if (v.is_string()) stage.variables[k] = v.get<std::string>();
      }
      stage.routes = compile_rest_routes((*d)["snapshot"]);
      api->stages[name] = std::move(stage);
    }
  }
  return std::shared_ptr<const CompiledApi>(std::move(api));
}

}  // namespace sless::services::apigateway
