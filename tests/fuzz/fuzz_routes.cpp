// fuzz_routes: the API Gateway data plane's parsers of client text. An input is
//
//   <selector byte> LINE \n LINE \n ...
//
// and the selector picks:
//   0  route keys (CreateRoute's RouteKey: "GET /items/{id}", "ANY /{proxy+}", "$default"), one
//      per line up to an empty line, then requests "METHOD /path" to match against them
//      (split_path, match_route); invariants: what matched has the request's method or ANY,
//      its literal segments equal the path's, every path parameter is one of its {names}, and
//      a path no route's template fits gets the $default route or nothing;
//   1  integration URIs and identity sources (function_arn_of_uri, parse_identity_source);
//      what they return is a part of their input;
//   2  a bearer token for a JWT authorizer (split_jwt, check_claims, verify_signature against
//      fixed RSA and EC keys, or the second line as the JWK).
// Nothing may throw.
#include <set>
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "services/apigateway/jwt.h"
#include "services/apigateway/routes.h"

namespace {

using namespace sless;
namespace agw = sless::services::apigateway;
using nlohmann::json;

bool is_param(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

void check_match(const agw::RouteSet& set, std::string_view method, std::string_view path_text) {
  std::vector<std::string> path = agw::split_path(path_text);
  std::map<std::string, std::string> params;
  const agw::Route* r = agw::match_route(set, method, path, params);
  if (r == nullptr) {
    for (const auto& route : set.routes) FUZZ_CHECK(!route.is_default);
    FUZZ_CHECK(params.empty());
    return;
  }
  FUZZ_CHECK(r->method == method || r->method == "ANY");
  if (r->is_default) return;
  std::set<std::string> names;
  for (size_t i = 0; i < r->segments.size(); ++i) {
    const std::string& seg = r->segments[i];
    if (is_param(seg)) {
      std::string name = seg.substr(1, seg.size() - 2);
      if (!name.empty() && name.back() == '+') name.pop_back();
      names.insert(name);
    } else {
      FUZZ_CHECK(i < path.size() && path[i] == seg);
    }
  }
  for (const auto& [k, v] : params) FUZZ_CHECK(names.count(k) == 1);
}

void fuzz_route_keys(fuzz::Input& in) {
  agw::RouteSet set;
  while (!in.empty()) {
    std::string key(in.until('\n'));
    if (key.empty()) break;
    auto parsed = agw::parse_route_key(key);
    if (!parsed.ok()) {
      FUZZ_CHECK(!parsed.status().message().empty());
      continue;
    }
    FUZZ_CHECK(parsed.value().key == key);
    set.routes.push_back(std::move(parsed).value());
  }
  for (int i = 0; i < 8 && !in.empty(); ++i) {
    std::string_view line = in.until('\n');
    auto space = line.find(' ');
    std::string_view method = line.substr(0, space);
    std::string_view path = space == std::string_view::npos ? std::string_view("/") : line.substr(space + 1);
    check_match(set, method, path);
  }
}

void fuzz_uris(fuzz::Input& in) {
  while (!in.empty()) {
    std::string_view line = in.until('\n');
    std::string arn = agw::function_arn_of_uri(line);
    FUZZ_CHECK(line.find(arn) != std::string_view::npos);
    if (auto src = agw::parse_identity_source(line)) {
      FUZZ_CHECK(!src->name.empty());
      FUZZ_CHECK(line.size() > src->name.size() && line.substr(line.size() - src->name.size()) == src->name);
    }
  }
}

// A 2048-bit RSA key and a P-256 key (public parts), as an issuer's JWKS lists them.
const char* const kRsaJwk = R"({"kty":"RSA","kid":"r1","alg":"RS256","e":"AQAB",
  "n":"u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw"})";
const char* const kEcJwk = R"({"kty":"EC","kid":"e1","crv":"P-256",
  "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";

void fuzz_jwt(fuzz::Input& in) {
  std::string_view token = in.until('\n');
  auto parts = agw::split_jwt(token);
  if (!parts.ok()) {
    FUZZ_CHECK(!parts.status().message().empty());
    return;
  }
  FUZZ_CHECK(parts.value().header.is_object());
  FUZZ_CHECK(parts.value().claims.is_object());
  (void)agw::check_claims(parts.value().claims, "https://issuer.example", {}, 1700000000);
  (void)agw::check_claims(parts.value().claims, "https://issuer.example", {"aud-1", "aud-2"}, 1700000000);
  static const json kRsa = json::parse(kRsaJwk);
  static const json kEc = json::parse(kEcJwk);
  (void)agw::verify_signature(parts.value(), kRsa);
  (void)agw::verify_signature(parts.value(), kEc);
  json jwk = json::parse(in.rest(), nullptr, false);
  if (!jwk.is_discarded()) (void)agw::verify_signature(parts.value(), jwk);
}

}  // namespace

SLESS_FUZZ_TARGET(routes) {
  fuzz::Input in(data, size);
  switch (in.byte() % 3) {
    case 0: fuzz_route_keys(in); break;
    case 1: fuzz_uris(in); break;
    default: fuzz_jwt(in); break;
  }
  return 0;
}
