#include "stack/sam_apis.h"

#include <chrono>
#include <set>

#include "services/apigateway/text.h"
#include "stack/intrinsics.h"

namespace sless::stack {

using services::apigateway::text::object_member;

using nlohmann::json;

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string invocation_uri(const Provisioner& p, const std::string& function_arn) {
  return "arn:aws:apigateway:" + p.region + ":lambda:path/2015-03-31/functions/" + function_arn + "/invocations";
}

double now_s() {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string method_of(const json& route) {
  std::string m = upper(text_member(route, "Method", "ANY"));
  return m == "X-AMAZON-APIGATEWAY-ANY-METHOD" ? "ANY" : m;
}

// SAM's CORS values are quoted header values ("'*'", "'GET,POST'").
std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '\'' && s.back() == '\'') return s.substr(1, s.size() - 2);
  return s;
}

json split_list(const std::string& s) {
  json out = json::array();
  size_t pos = 0;
  for (;;) {
    size_t c = s.find(',', pos);
    std::string part = s.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    if (c == std::string::npos) return out;
    pos = c + 1;
  }
}

// Identity sources of a SAM Lambda authorizer's Identity block, in either API flavour.
json identity_sources(const json& identity, bool http) {
  json out = json::array();
  const char* header = http ? "$request.header." : "method.request.header.";
  const char* query = http ? "$request.querystring." : "method.request.querystring.";
  const char* stage = http ? "$stageVariables." : "stageVariables.";
  const char* context = http ? "$context." : "context.";
  for (const auto& [key, prefix] : {std::pair{"Headers", header}, std::pair{"QueryStrings", query},
                                    std::pair{"StageVariables", stage}, std::pair{"Context", context}}) {
    for (const auto& v : identity.value(key, json::array())) out.push_back(prefix + scalar_text(v));
  }
  return out;
}

}  // namespace

Result<json> http_api_document(const Provisioner& p, const std::string& logical, const json& props) {
  json api{{"Name", text_member(props, "Name", p.stack_name + "-" + logical)},
           {"ProtocolType", "HTTP"},
           {"CreatedDate", now_s()},
           {"RouteSelectionExpression", "${request.method} ${request.path}"},
           {"ApiKeySelectionExpression", "$request.header.x-api-key"},
           {"DisableExecuteApiEndpoint", false}};
  if (props.contains("Description")) api["Description"] = props["Description"];
  if (props.contains("CorsConfiguration")) {
    const json& c = props["CorsConfiguration"];
    if (c.is_boolean() || c == "true") {
      if (c == true || c == "true") {
        api["CorsConfiguration"] = json{{"AllowOrigins", {"*"}}, {"AllowHeaders", {"*"}}, {"AllowMethods", {"*"}}};
      }
    } else if (c.is_object()) {
      json cors = c;
      if (cors.contains("MaxAge") && cors["MaxAge"].is_string()) cors["MaxAge"] = std::stoi(cors["MaxAge"].get<std::string>());
      if (cors.contains("AllowCredentials") && cors["AllowCredentials"].is_string()) {
        cors["AllowCredentials"] = cors["AllowCredentials"] == "true";
      }
      api["CorsConfiguration"] = cors;
    } else {
      return Status::invalid_argument("CorsConfiguration must be true or a mapping");
    }
  }
  json doc{{"protocol", "HTTP"}, {"api", api}, {"routes", json::object()}, {"integrations", json::object()},
           {"authorizers", json::object()}, {"stages", json::object()}, {"deployments", json::object()}};

  const json auth = props.value("Auth", json::object());
  std::map<std::string, json> default_scopes;
  for (const auto& [name, a] : object_member(auth, "Authorizers").items()) {
    json out{{"AuthorizerId", name}, {"Name", name}};
    if (a.contains("JwtConfiguration")) {
      const json& j = a["JwtConfiguration"];
      json audience = j.value("audience", j.value("Audience", json::array()));
      if (audience.is_string()) audience = json::array({audience});
      out["AuthorizerType"] = "JWT";
      out["IdentitySource"] = json::array({text_member(a, "IdentitySource", "$request.header.Authorization")});
      out["JwtConfiguration"] = json{{"Issuer", text_member(j, "issuer", text_member(j, "Issuer"))}, {"Audience", audience}};
      if (out["JwtConfiguration"]["Issuer"] == "") return Status::invalid_argument("authorizer " + name + ": JwtConfiguration needs issuer");
    } else if (a.contains("FunctionArn")) {
      const json identity = a.value("Identity", json::object());
      out["AuthorizerType"] = "REQUEST";
      out["AuthorizerUri"] = invocation_uri(p, text_member(a, "FunctionArn"));
      out["AuthorizerPayloadFormatVersion"] = text_member(a, "AuthorizerPayloadFormatVersion", "2.0");
      out["EnableSimpleResponses"] = a.value("EnableSimpleResponses", false) == true || a.value("EnableSimpleResponses", json()) == "true";
      out["IdentitySource"] = identity_sources(identity, true);
      out["AuthorizerResultTtlInSeconds"] = std::stoi(text_member(identity, "ReauthorizeEvery", "0"));
    } else {
      return Status::invalid_argument("authorizer " + name + " needs JwtConfiguration or FunctionArn");
    }
    if (a.contains("AuthorizationScopes")) default_scopes[name] = a["AuthorizationScopes"];
    doc["authorizers"][name] = out;
  }
  std::string default_auth = text_member(auth, "DefaultAuthorizer");
  if (!default_auth.empty() && !doc["authorizers"].contains(default_auth)) {
    return Status::invalid_argument("DefaultAuthorizer " + default_auth + " is not one of Auth.Authorizers");
  }

  std::set<std::string> keys;
  int n = 0;
  for (const auto& r : props.value("__sless_routes", json::array())) {
    std::string where = "event " + text_member(r, "EventName") + " of " + text_member(r, "Function");
    std::string key = (!r.contains("Path") && !r.contains("Method")) ? "$default" : method_of(r) + " " + text_member(r, "Path", "/");
    if (!keys.insert(key).second) return Status::invalid_argument(where + ": route " + key + " is defined twice");
    std::string iid = "i" + std::to_string(++n);
    std::string version = text_member(r, "PayloadFormatVersion", "2.0");
    if (version != "1.0" && version != "2.0") return Status::invalid_argument(where + ": PayloadFormatVersion must be 1.0 or 2.0");
    doc["integrations"][iid] = json{{"IntegrationId", iid}, {"IntegrationType", "AWS_PROXY"},
                                    {"IntegrationUri", text_member(r, "FunctionArn")}, {"PayloadFormatVersion", version},
                                    {"TimeoutInMillis", std::stoi(text_member(r, "TimeoutInMillis", "30000"))},
                                    {"IntegrationMethod", "POST"}, {"ConnectionType", "INTERNET"}};
    json route{{"RouteId", "r" + std::to_string(n)}, {"RouteKey", key}, {"Target", "integrations/" + iid},
               {"AuthorizationType", "NONE"}, {"ApiKeyRequired", false}};
    const json rauth = r.value("Auth", json::object());
    std::string authorizer = text_member(rauth, "Authorizer", default_auth);
    if (!authorizer.empty() && authorizer != "NONE") {
      if (!doc["authorizers"].contains(authorizer)) {
        return Status::invalid_argument(where + ": authorizer " + authorizer + " is not one of Auth.Authorizers");
      }
      route["AuthorizationType"] = doc["authorizers"][authorizer]["AuthorizerType"] == "JWT" ? "JWT" : "CUSTOM";
      route["AuthorizerId"] = authorizer;
      if (rauth.contains("AuthorizationScopes")) {
        route["AuthorizationScopes"] = rauth["AuthorizationScopes"];
      } else if (default_scopes.count(authorizer)) {
        route["AuthorizationScopes"] = default_scopes[authorizer];
      }
    }
    doc["routes"][route["RouteId"].get<std::string>()] = route;
  }
  std::string stage = text_member(props, "StageName", "$default");
  doc["stages"][stage] = json{{"StageName", stage}, {"AutoDeploy", true}, {"CreatedDate", now_s()},
                              {"LastUpdatedDate", now_s()}, {"StageVariables", props.value("StageVariables", json::object())},
                              {"DefaultRouteSettings", json::object()}, {"RouteSettings", json::object()}};
  doc["__stage"] = stage;
  return doc;
}

Result<json> rest_api_document(const Provisioner& p, const std::string& logical, const json& props) {
  const std::string root = "root" + std::string(4, '0');
  json api{{"name", text_member(props, "Name", p.stack_name + "-" + logical)},
           {"createdDate", now_s()},
           {"apiKeySource", "HEADER"},
           {"endpointConfiguration", json{{"types", json::array({"EDGE"})}}},
           {"disableExecuteApiEndpoint", false},
           {"rootResourceId", root}};
  if (props.contains("BinaryMediaTypes")) {
    json types = json::array();
    // SAM writes "image~1png" for "image/png" (JSON pointer escaping).
    for (const auto& t : props["BinaryMediaTypes"]) {
      std::string s = scalar_text(t);
      for (size_t pos; (pos = s.find("~1")) != std::string::npos;) s.replace(pos, 2, "/");
      types.push_back(s);
    }
    api["binaryMediaTypes"] = types;
  }
  json doc{{"protocol", "REST"}, {"api", api}, {"authorizers", json::object()}, {"stages", json::object()},
           {"deployments", json::object()},
           {"resources", json{{root, json{{"id", root}, {"path", "/"}, {"resourceMethods", json::object()}}}}}};
  if (props.contains("Cors")) {
    const json& c = props["Cors"];
    json cors{{"AllowMethods", {"*"}}};
    if (c.is_string()) {
      cors["AllowOrigins"] = json::array({unquote(c.get<std::string>())});
    } else if (c.is_object()) {
      cors["AllowOrigins"] = json::array({unquote(text_member(c, "AllowOrigin", "'*'"))});
      if (c.contains("AllowMethods")) cors["AllowMethods"] = split_list(unquote(text_member(c, "AllowMethods")));
      if (c.contains("AllowHeaders")) cors["AllowHeaders"] = split_list(unquote(text_member(c, "AllowHeaders")));
      if (c.contains("ExposeHeaders")) cors["ExposeHeaders"] = split_list(unquote(text_member(c, "ExposeHeaders")));
      if (c.contains("MaxAge")) cors["MaxAge"] = std::stoi(unquote(text_member(c, "MaxAge")));
      if (c.contains("AllowCredentials")) cors["AllowCredentials"] = text_member(c, "AllowCredentials") == "true";
    } else {
      return Status::invalid_argument("Cors must be a string or a mapping");
    }
    doc["cors"] = cors;
  }

  const json auth = props.value("Auth", json::object());
  for (const auto& [name, a] : object_member(auth, "Authorizers").items()) {
    if (a.contains("UserPoolArn")) {
      return Status::invalid_argument("authorizer " + name + ": Cognito user pool authorizers are not supported yet");
    }
    if (!a.contains("FunctionArn")) return Status::invalid_argument("authorizer " + name + " needs FunctionArn");
    const json identity = a.value("Identity", json::object());
    std::string type = upper(text_member(a, "FunctionPayloadType", "TOKEN"));
    json out{{"id", name}, {"name", name}, {"type", type}, {"authorizerUri", invocation_uri(p, text_member(a, "FunctionArn"))},
             {"authorizerResultTtlInSeconds", std::stoi(text_member(identity, "ReauthorizeEvery", "300"))}};
    if (type == "TOKEN") {
      out["identitySource"] = "method.request.header." + text_member(identity, "Header", "Authorization");
      if (identity.contains("ValidationExpression")) out["identityValidationExpression"] = identity["ValidationExpression"];
    } else if (type == "REQUEST") {
      std::string joined;
      for (const auto& s : identity_sources(identity, false)) joined += (joined.empty() ? "" : ",") + s.get<std::string>();
      out["identitySource"] = joined;
    } else {
      return Status::invalid_argument("authorizer " + name + ": FunctionPayloadType must be TOKEN or REQUEST");
    }
    doc["authorizers"][name] = out;
  }
  std::string default_auth = text_member(auth, "DefaultAuthorizer");
  if (!default_auth.empty() && !doc["authorizers"].contains(default_auth)) {
    return Status::invalid_argument("DefaultAuthorizer " + default_auth + " is not one of Auth.Authorizers");
  }

  std::map<std::string, std::string> by_path{{"/", root}};
  int n = 0;
  for (const auto& r : props.value("__sless_routes", json::array())) {
    std::string where = "event " + text_member(r, "EventName") + " of " + text_member(r, "Function");
    std::string path = text_member(r, "Path");
    if (path.empty() || path[0] != '/') return Status::invalid_argument(where + ": Path must start with /");
    std::string parent = root;
    std::string so_far;
    size_t pos = 1;
    while (pos <= path.size() && pos < path.size()) {
      size_t next = path.find('/', pos);
      std::string part = path.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      pos = next == std::string::npos ? path.size() : next + 1;
      if (part.empty()) continue;
      so_far += "/" + part;
      auto it = by_path.find(so_far);
      if (it == by_path.end()) {
        std::string id = "res" + std::to_string(++n);
        doc["resources"][id] = json{{"id", id}, {"parentId", parent}, {"pathPart", part}, {"path", so_far},
                                    {"resourceMethods", json::object()}};
        it = by_path.emplace(so_far, id).first;
      }
      parent = it->second;
    }
    std::string method = method_of(r);
    json& methods = doc["resources"][parent]["resourceMethods"];
    if (methods.contains(method)) return Status::invalid_argument(where + ": " + method + " " + path + " is defined twice");
    json m{{"httpMethod", method}, {"authorizationType", "NONE"}, {"apiKeyRequired", false},
           {"methodIntegration", json{{"type", "AWS_PROXY"}, {"httpMethod", "POST"},
                                      {"uri", invocation_uri(p, text_member(r, "FunctionArn"))},
                                      {"passthroughBehavior", "WHEN_NO_MATCH"}, {"timeoutInMillis", 29000}}}};
    std::string authorizer = text_member(r.value("Auth", json::object()), "Authorizer", default_auth);
    if (!authorizer.empty() && authorizer != "NONE") {
      if (!doc["authorizers"].contains(authorizer)) {
        return Status::invalid_argument(where + ": authorizer " + authorizer + " is not one of Auth.Authorizers");
      }
      m["authorizationType"] = "CUSTOM";
      m["authorizerId"] = authorizer;
    }
    methods[method] = m;
  }
  std::string stage = text_member(props, "StageName", "Prod");
  doc["deployments"]["deploy1"] = json{{"id", "deploy1"}, {"createdDate", now_s()},
                                       {"snapshot", {{"resources", doc["resources"]}, {"authorizers", doc["authorizers"]}}}};
  doc["stages"][stage] = json{{"stageName", stage}, {"deploymentId", "deploy1"}, {"createdDate", now_s()},
                              {"lastUpdatedDate", now_s()}, {"variables", props.value("Variables", json::object())},
                              {"cacheClusterEnabled", false}, {"cacheClusterStatus", "NOT_AVAILABLE"},
                              {"tracingEnabled", false}};
  doc["__stage"] = stage;
  return doc;
}

}  // namespace sless::stack
