#include <catch2/catch.hpp>

#include "services/apigateway/routes.h"

using namespace sless::services::apigateway;

namespace {

RouteSet routes(std::initializer_list<const char*> keys) {
  RouteSet set;
  for (const char* k : keys) {
    auto r = parse_route_key(k);
    REQUIRE(r.ok());
    set.routes.push_back(std::move(r).value());
  }
  return set;
}

std::string matched(const RouteSet& set, const char* method, const char* path,
                    std::map<std::string, std::string>* params = nullptr) {
  std::map<std::string, std::string> p;
  const Route* r = match_route(set, method, split_path(path), p);
  if (params) *params = p;
  return r ? r->key : "";
}

}  // namespace

TEST_CASE("route keys parse and reject malformed ones", "[apigateway]") {
  CHECK(parse_route_key("GET /items/{id}").ok());
  CHECK(parse_route_key("$default").value().is_default);
  CHECK_FALSE(parse_route_key("GET items").ok());
  CHECK_FALSE(parse_route_key("FETCH /items").ok());
  CHECK_FALSE(parse_route_key("GET /{proxy+}/more").ok());
  CHECK_FALSE(parse_route_key("GET /a//b").ok());
}

TEST_CASE("the most specific route wins", "[apigateway]") {
  RouteSet set = routes({"GET /items/{id}", "GET /items/special", "ANY /items/{id}", "ANY /{proxy+}", "$default"});
  std::map<std::string, std::string> params;
  CHECK(matched(set, "GET", "/items/special") == "GET /items/special");
  CHECK(matched(set, "GET", "/items/42", &params) == "GET /items/{id}");
  CHECK(params.at("id") == "42");
  CHECK(matched(set, "DELETE", "/items/42") == "ANY /items/{id}");
  CHECK(matched(set, "GET", "/a/b/c", &params) == "ANY /{proxy+}");
  CHECK(params.at("proxy") == "a/b/c");
  CHECK(matched(set, "GET", "/") == "$default");
}

TEST_CASE("path parameters are percent-decoded and never empty", "[apigateway]") {
  RouteSet set = routes({"GET /users/{name}"});
  std::map<std::string, std::string> params;
  CHECK(matched(set, "GET", "/users/J%C3%BCrgen%20M", &params) == "GET /users/{name}");
  CHECK(params.at("name") == "Jürgen M");
  CHECK(matched(set, "GET", "/users/") == "");
  CHECK(matched(set, "POST", "/users/x") == "");
}

TEST_CASE("integration URIs name their function", "[apigateway]") {
  CHECK(function_arn_of_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                            "arn:aws:lambda:us-east-1:000000000000:function:f/invocations") ==
        "arn:aws:lambda:us-east-1:000000000000:function:f");
  CHECK(function_arn_of_uri("arn:aws:lambda:us-east-1:000000000000:function:f") ==
        "arn:aws:lambda:us-east-1:000000000000:function:f");
  CHECK(function_arn_of_uri("http://example.com").empty());
}

TEST_CASE("identity sources of both API flavours", "[apigateway]") {
  auto h = parse_identity_source("$request.header.Authorization");
  REQUIRE(h);
  CHECK((h->kind == IdentitySource::Kind::kHeader && h->name == "Authorization"));
  auto q = parse_identity_source("method.request.querystring.token");
  REQUIRE(q);
  CHECK((q->kind == IdentitySource::Kind::kQuery && q->name == "token"));
  CHECK_FALSE(parse_identity_source("header.x"));
}
