#include "services/apigateway/events.h"

#include <ctime>
#include <map>
#include <string_view>
#include <vector>

#include "core/encoding.h"
#include "core/json_parse.h"
#include "protocol/codec.h"
#include "services/apigateway/text.h"

namespace sless::services::apigateway {

using nlohmann::json;

namespace {


bool is_text_type(std::string_view ct) {
  std::string t = enc::to_lower(ct.substr(0, ct.find(';')));
  t = std::string(text::trim(t));
  return t.empty() || enc::starts_with(t, "text/") || t == "application/json" || t == "application/xml" ||
         t == "application/javascript" || t == "application/x-www-form-urlencoded" || enc::ends_with(t, "+json") ||
         enc::ends_with(t, "+xml") || t == "application/graphql";
}

bool media_type_matches(std::string_view pattern, std::string_view type) {
  return text::wildcard_match(enc::to_lower(pattern), enc::to_lower(type));
}

// The body as the 1.0 event carries it (null when absent), and whether it is base64.
std::pair<json, bool> event_body(const RequestView& r) {
  if (!r.body || r.body->empty()) return {json(nullptr), false};
  std::string_view ct = r.headers->get_or("content-type", "");
  if (body_is_binary(*r.api, ct, *r.body)) return {enc::base64_encode(*r.body), true};
  return {*r.body, false};
}

std::string domain_prefix(const std::string& domain) {
  auto dot = domain.find('.');
  std::string first = domain.substr(0, dot);
  auto colon = first.find(':');
  return first.substr(0, colon);
}

json stage_variables(const RequestView& r) {
  if (r.stage->variables.empty()) return nullptr;
  json out = json::object();
  for (const auto& [k, v] : r.stage->variables) out[k] = v;
  return out;
}

json path_parameters(const RequestView& r) {
  if (r.path_params.empty()) return nullptr;
  json out = json::object();
  for (const auto& [k, v] : r.path_params) out[k] = v;
  return out;
}

std::string extended_id(const std::string& request_id) {
  std::string id = enc::base64_encode(request_id.substr(0, 12));
  return id.substr(0, 14) + "=";
}

json identity_v1(const RequestView& r) {
  json id = json::object();
  for (const char* k : {"cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "principalOrgId",
                        "accessKey", "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "user"}) {
    id[k] = nullptr;
  }
  id["sourceIp"] = r.source_ip;
  id["userAgent"] = r.headers->has("user-agent") ? json(std::string(r.headers->get_or("user-agent", ""))) : json(nullptr);
  return id;
}

// The route's path template ("/items/{id}"): REST keys are paths, HTTP API keys "GET /path".
std::string resource_path(const Route& r) {
  if (r.is_default) return "$default";
  auto space = r.key.find(' ');
  return space == std::string::npos ? r.key : r.key.substr(space + 1);
}

// The requestContext members both formats open with.
json request_context_base(const RequestView& r, const json& authorizer) {
  json c = json::object();
  c["accountId"] = r.api->account;
  c["apiId"] = r.api->id;
  if (!authorizer.is_null()) c["authorizer"] = authorizer;
  c["domainName"] = r.domain;
  c["domainPrefix"] = domain_prefix(r.domain);
  return c;
}

json request_context_v1(const RequestView& r, const json& authorizer) {
  json c = request_context_base(r, authorizer);
  c["extendedRequestId"] = extended_id(r.request_id);
  c["httpMethod"] = r.method;
  c["identity"] = identity_v1(r);
  c["path"] = r.full_path;
  c["protocol"] = "HTTP/1.1";
  c["requestId"] = r.request_id;
  c["requestTime"] = request_time(r.now_ms);
  c["requestTimeEpoch"] = r.now_ms;
  c["resourceId"] = r.route->id;
  c["resourcePath"] = resource_path(*r.route);
  if (r.api->http) c["routeKey"] = r.route->key;
  c["stage"] = r.stage->name;
  return c;
}

void add_header(http::Response& res, const std::string& name, const json& value) {
  if (value.is_string()) {
    res.headers.add(name, value.get<std::string>());
  } else if (value.is_number() || value.is_boolean()) {
    res.headers.add(name, value.dump());
  }
}

// Shared by both formats: body and isBase64Encoded.
bool set_body(http::Response& res, const json& out) {
  auto body = out.find("body");
  bool base64 = out.value("isBase64Encoded", false);
  if (body == out.end() || body->is_null()) return true;
  if (!body->is_string()) return false;
  if (base64) {
    auto decoded = enc::base64_decode(body->get<std::string>());
    if (!decoded) return false;
    res.body = std::move(*decoded);
  } else {
    res.body = body->get<std::string>();
  }
  return true;
}

bool valid_status(const json& s) { return s.is_number_integer() && s.get<int64_t>() >= 100 && s.get<int64_t>() <= 599; }

}  // namespace

std::string request_time(int64_t epoch_ms) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

bool body_is_binary(const CompiledApi& api, std::string_view content_type, const std::string& body) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  if (api.http) return !is_text_type(type) || !enc::is_valid_utf8(body);
  for (const auto& b : api.binary_media_types) {
    if (media_type_matches(b, text::trim(type))) return true;
  }
  return false;
}

json event_v1(const RequestView& r, const json& authorizer) {
  json e = json::object();
  if (r.api->http) e["version"] = "1.0";
  e["resource"] = resource_path(*r.route);
  e["path"] = r.api->http ? r.full_path : r.path;
  e["httpMethod"] = r.method;
  json headers = json::object();
  json multi = json::object();
  for (const auto& [k, v] : r.headers->entries()) {
    std::string name = r.api->http ? enc::to_lower(k) : k;
    headers[name] = v;
    multi[name].push_back(v);
  }
  e["headers"] = headers.empty() ? json(nullptr) : headers;
  e["multiValueHeaders"] = multi.empty() ? json(nullptr) : multi;
  json query = json::object();
  json multi_query = json::object();
  for (const auto& q : http::parse_query(r.raw_query)) {
    if (q.key.empty()) continue;
    query[q.key] = q.value;
    multi_query[q.key].push_back(q.value);
  }
  e["queryStringParameters"] = query.empty() ? json(nullptr) : query;
  e["multiValueQueryStringParameters"] = multi_query.empty() ? json(nullptr) : multi_query;
  e["requestContext"] = request_context_v1(r, authorizer);
  e["pathParameters"] = path_parameters(r);
  e["stageVariables"] = stage_variables(r);
  auto [body, base64] = event_body(r);
  e["body"] = body;
  e["isBase64Encoded"] = base64;
  return e;
}

std::string event_v2_text(const RequestView& r, const json& authorizer) {
  // Members in the order nlohmann's objects keep them (byte order of names), so that the text is
  // what protocol::dump writes for the same tree.
  std::vector<std::string_view> cookies;
  std::map<std::string, std::string> headers;
  for (const auto& [k, v] : r.headers->entries()) {
    std::string name = enc::to_lower(k);
    if (name == "cookie") {
      for (auto c : text::split(v, ';')) {
        c = text::trim(c);
        if (!c.empty()) cookies.push_back(c);
      }
      continue;
    }
    auto [it, fresh] = headers.try_emplace(std::move(name), v);
    if (!fresh) it->second.append(",").append(v);
  }
  std::map<std::string, std::string> query;
  for (auto& q : http::parse_query(r.raw_query)) {
    if (q.key.empty()) continue;
    auto [it, fresh] = query.try_emplace(std::move(q.key), q.value);
    if (!fresh) it->second.append(",").append(q.value);
  }
  // Members are written with their trailing comma; close() turns the last one into the brace.
  std::string out;
  out.reserve(1024);
  auto key = [&out](std::string_view k) {  // the event's own member names: nothing to escape
    out.push_back('"');
    out.append(k);
    out.append("\":");
  };
  auto str = [&out](std::string_view v) { protocol::append_json_string(out, v); };
  auto member = [&](std::string_view k, std::string_view v) {
    key(k);
    str(v);
    out.push_back(',');
  };
  auto close = [&out](char brace) {
    if (out.back() == ',') out.pop_back();
    out.push_back(brace);
    out.push_back(',');
  };
  auto object = [&](std::string_view k, const std::map<std::string, std::string>& members) {
    key(k);
    out.push_back('{');
    for (const auto& [name, value] : members) {  // these names come from the request: escaped
      str(name);
      out.push_back(':');
      str(value);
      out.push_back(',');
    }
    close('}');
  };
  bool base64 = false;
  out.push_back('{');
  if (r.body && !r.body->empty()) {
    base64 = body_is_binary(*r.api, r.headers->get_or("content-type", ""), *r.body);
    member("body", base64 ? enc::base64_encode(*r.body) : *r.body);
  }
  if (!cookies.empty()) {
    key("cookies");
    out.push_back('[');
    for (std::string_view c : cookies) {
      str(c);
      out.push_back(',');
    }
    close(']');
  }
  object("headers", headers);
  key("isBase64Encoded");
  out.append(base64 ? "true," : "false,");
  if (!r.path_params.empty()) object("pathParameters", r.path_params);
  if (!query.empty()) object("queryStringParameters", query);
  member("rawPath", r.full_path);
  member("rawQueryString", r.raw_query);
  key("requestContext");
  out.push_back('{');
  member("accountId", r.api->account);
  member("apiId", r.api->id);
  if (!authorizer.is_null()) {
    key("authorizer");
    protocol::append_json(out, authorizer);
    out.push_back(',');
  }
  member("domainName", r.domain);
  member("domainPrefix", domain_prefix(r.domain));
  key("http");
  out.push_back('{');
  member("method", r.method);
  member("path", r.full_path);
  member("protocol", "HTTP/1.1");
  member("sourceIp", r.source_ip);
  member("userAgent", r.headers->get_or("user-agent", ""));
  close('}');
  member("requestId", r.request_id);
  member("routeKey", r.route->key);
  member("stage", r.stage->name);
  member("time", request_time(r.now_ms));
  key("timeEpoch");
  out.append(std::to_string(r.now_ms));
  close('}');
  member("routeKey", r.route->key);
  if (!r.stage->variables.empty()) object("stageVariables", r.stage->variables);
  member("version", "2.0");
  out.pop_back();  // the last member's comma
  out.push_back('}');
  return out;
}

json event_v2(const RequestView& r, const json& authorizer) {
  // Authorizer events start from it (a rare path): one writer for both.
  return json::parse(event_v2_text(r, authorizer));
}

std::string method_arn(const RequestView& r) {
  std::string path = r.path;
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  return "arn:aws:execute-api:" + r.api->region + ":" + r.api->account + ":" + r.api->id + "/" + r.stage->name + "/" +
         r.method + "/" + path;
}

json authorizer_event(const RequestView& r, const Authorizer& a, const std::string& token,
                      const std::vector<std::string>& identity) {
  if (a.type == "TOKEN") {
    return json{{"type", "TOKEN"}, {"authorizationToken", token}, {"methodArn", method_arn(r)}};
  }
  if (r.api->http && a.payload_version == "2.0") {
    json e = event_v2(r, nullptr);
    e.erase("body");
    e.erase("isBase64Encoded");
    e["type"] = "REQUEST";
    e["routeArn"] = method_arn(r);
    e["identitySource"] = identity;
    return e;
  }
  json e = event_v1(r, nullptr);
  e.erase("body");
  e.erase("isBase64Encoded");
  e["type"] = "REQUEST";
  e["methodArn"] = method_arn(r);
  if (r.api->http) {
    std::string joined;
    for (const auto& v : identity) joined += (joined.empty() ? "" : ",") + v;
    e["identitySource"] = joined;
    e["authorizationToken"] = identity.empty() ? json(nullptr) : json(identity.front());
  }
  return e;
}

std::optional<http::Response> response_v1(const std::string& payload) {
  json out = json_text::parse(payload);
  if (!out.is_object()) return std::nullopt;
  http::Response res;
  auto status = out.find("statusCode");
  if (status == out.end() || !valid_status(*status)) return std::nullopt;
  res.status = status->get<int>();
  if (auto h = out.find("headers"); h != out.end() && !h->is_null()) {
    if (!h->is_object()) return std::nullopt;
    for (const auto& [k, v] : h->items()) add_header(res, k, v);
  }
  if (auto h = out.find("multiValueHeaders"); h != out.end() && !h->is_null()) {
    if (!h->is_object()) return std::nullopt;
    for (const auto& [k, vs] : h->items()) {
      if (!vs.is_array()) return std::nullopt;
      // A name in both maps takes the multi-value list.
      res.headers.remove(k);
      for (const auto& v : vs) add_header(res, k, v);
    }
  }
  if (!set_body(res, out)) return std::nullopt;
  if (!res.headers.has("content-type")) res.headers.add("Content-Type", "application/json");
  return res;
}

std::optional<http::Response> response_v2(const std::string& payload) {
  json out = json_text::parse(payload);
  if (out.is_discarded()) return std::nullopt;
  http::Response res;
  if (!out.is_object() || !out.contains("statusCode")) {
    // Any other JSON: 200, application/json, the answer as the body.
    res.status = 200;
    res.headers.add("Content-Type", "application/json");
    res.body = payload;
    return res;
  }
  if (!valid_status(out["statusCode"])) return std::nullopt;
  res.status = out["statusCode"].get<int>();
  if (auto h = out.find("headers"); h != out.end() && !h->is_null()) {
    if (!h->is_object()) return std::nullopt;
    for (const auto& [k, v] : h->items()) add_header(res, k, v);
  }
  if (auto c = out.find("cookies"); c != out.end() && !c->is_null()) {
    if (!c->is_array()) return std::nullopt;
    for (const auto& v : *c) {
      if (v.is_string()) res.headers.add("Set-Cookie", v.get<std::string>());
    }
  }
  if (!set_body(res, out)) return std::nullopt;
  if (!res.headers.has("content-type")) res.headers.add("Content-Type", "application/json");
  return res;
}

}  // namespace sless::services::apigateway
