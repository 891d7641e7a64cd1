#include "services/s3/cors.h"

#include <algorithm>

#include "core/encoding.h"

namespace sless::services::s3 {

using nlohmann::json;

namespace {

std::vector<std::string> strings(const json& rule, const char* member) {
  std::vector<std::string> out;
  auto it = rule.find(member);
  if (it == rule.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

std::optional<ServiceError> validate_cors(const json& config) {
  auto rules = config.find("CORSRules");
  if (!config.is_object() || rules == config.end() || !rules->is_array() || rules->empty()) {
    return ServiceError("MalformedXML",
                        "The XML you provided was not well-formed or did not validate against our published schema");
  }
  if (rules->size() > 100) {
    return ServiceError("MalformedXML", "The number of CORS rules should not exceed allowed limit of 100 rules.");
  }
  for (const auto& rule : *rules) {
    auto methods = strings(rule, "AllowedMethods");
    auto origins = strings(rule, "AllowedOrigins");
    if (methods.empty() || origins.empty()) {
      return ServiceError("MalformedXML",
                          "The XML you provided was not well-formed or did not validate against our published schema");
    }
    for (const auto& m : methods) {
      if (m != "GET" && m != "PUT" && m != "POST" && m != "DELETE" && m != "HEAD") {
        return ServiceError("InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is " + m);
      }
    }
    for (const auto& o : origins) {
      if (std::count(o.begin(), o.end(), '*') > 1) {
        return ServiceError("InvalidRequest", "AllowedOrigin \"" + o + "\" can not have more than one wildcard.");
      }
    }
    for (const auto& h : strings(rule, "AllowedHeaders")) {
      if (std::count(h.begin(), h.end(), '*') > 1) {
        return ServiceError("InvalidRequest", "AllowedHeader \"" + h + "\" can not have more than one wildcard.");
      }
    }
  }
  return std::nullopt;
}

bool wildcard_match(std::string_view pattern, std::string_view value, bool ignore_case) {
  std::string p = ignore_case ? enc::to_lower(pattern) : std::string(pattern);
  std::string v = ignore_case ? enc::to_lower(value) : std::string(value);
  auto star = p.find('*');
  if (star == std::string::npos) return p == v;
  std::string_view head = std::string_view(p).substr(0, star);
  std::string_view tail = std::string_view(p).substr(star + 1);
  return v.size() >= head.size() + tail.size() && enc::starts_with(v, head) && enc::ends_with(v, tail);
}

const json* find_cors_rule(const json& config, std::string_view origin, std::string_view method,
                           const std::vector<std::string>& request_headers) {
  auto rules = config.find("CORSRules");
  if (!config.is_object() || rules == config.end() || !rules->is_array()) return nullptr;
  for (const auto& rule : *rules) {
    auto origins = strings(rule, "AllowedOrigins");
    if (std::none_of(origins.begin(), origins.end(),
                     [&](const std::string& o) { return wildcard_match(o, origin, false); })) {
      continue;
    }
    auto methods = strings(rule, "AllowedMethods");
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) continue;
    auto allowed = strings(rule, "AllowedHeaders");
    bool headers_ok = std::all_of(request_headers.begin(), request_headers.end(), [&](const std::string& h) {
      return std::any_of(allowed.begin(), allowed.end(),
                         [&](const std::string& a) { return wildcard_match(a, h, true); });
    });
    if (!headers_ok) continue;
    return &rule;
  }
  return nullptr;
}

void add_cors_response_headers(const json& rule, std::string_view origin, bool preflight,
                               std::string_view requested_headers, http::Headers& out) {
  auto origins = strings(rule, "AllowedOrigins");
  bool any = std::find(origins.begin(), origins.end(), "*") != origins.end();
  out.set("Access-Control-Allow-Origin", any ? std::string("*") : std::string(origin));
  if (!any) out.set("Access-Control-Allow-Credentials", "true");
  out.set("Access-Control-Allow-Methods", join(strings(rule, "AllowedMethods")));
  auto expose = strings(rule, "ExposeHeaders");
  if (!expose.empty()) out.set("Access-Control-Expose-Headers", join(expose));
  if (preflight) {
    if (!requested_headers.empty()) out.set("Access-Control-Allow-Headers", std::string(requested_headers));
    if (auto it = rule.find("MaxAgeSeconds"); it != rule.end() && it->is_number_integer()) {
      out.set("Access-Control-Max-Age", std::to_string(it->get<long long>()));
    }
  }
  out.set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

}  // namespace sless::services::s3
