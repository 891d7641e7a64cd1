#include <catch2/catch.hpp>

#include "services/apigateway/events.h"

#include <random>
#include <string>
#include <vector>

#include "protocol/codec.h"

using namespace sless::services::apigateway;
using nlohmann::json;

namespace {

struct EventsFixture {
  CompiledApi api;
  Stage stage;
  Route route;
  sless::http::Headers headers;
  std::string body;
  RequestView view;

  explicit EventsFixture(bool http) {
    api.id = "abc123";
    api.account = "000000000000";
    api.region = "us-east-1";
    api.http = http;
    stage.name = http ? "$default" : "Prod";
    stage.variables["env"] = "test";
    route = parse_route_key("GET /items/{id}").value();
    route.id = "r1";
    headers.add("Host", "abc123.execute-api.localhost:4566");
    headers.add("User-Agent", "curl/8");
    headers.add("X-Multi", "a");
    headers.add("X-Multi", "b");
    headers.add("Cookie", "s=1; t=2");
    view.api = &api;
    view.stage = &stage;
    view.route = &route;
    view.method = "GET";
    view.path = "/items/7";
    view.full_path = http ? "/items/7" : "/Prod/items/7";
    view.raw_query = "q=1&q=2&x=y%20z";
    view.headers = &headers;
    view.body = &body;
    view.source_ip = "127.0.0.1";
    view.domain = "abc123.execute-api.localhost:4566";
    view.request_id = "11111111-2222-3333-4444-555555555555";
    view.now_ms = 1700000000123;
    view.path_params["id"] = "7";
  }
};

}  // namespace

TEST_CASE("payload 2.0 joins repeated headers and query values, splits cookies", "[apigateway]") {
  EventsFixture f(true);
  json e = event_v2(f.view, nullptr);
  CHECK(e["version"] == "2.0");
  CHECK(e["routeKey"] == "GET /items/{id}");
  CHECK(e["rawPath"] == "/items/7");
  CHECK(e["rawQueryString"] == "q=1&q=2&x=y%20z");
  CHECK(e["headers"]["x-multi"] == "a,b");
  CHECK_FALSE(e["headers"].contains("cookie"));
  CHECK(e["cookies"] == json::array({"s=1", "t=2"}));
  CHECK(e["queryStringParameters"] == json{{"q", "1,2"}, {"x", "y z"}});
  CHECK(e["pathParameters"] == json{{"id", "7"}});
  CHECK(e["stageVariables"] == json{{"env", "test"}});
  CHECK_FALSE(e.contains("body"));
  CHECK(e["isBase64Encoded"] == false);
  const json& c = e["requestContext"];
  CHECK(c["http"]["method"] == "GET");
  CHECK(c["http"]["sourceIp"] == "127.0.0.1");
  CHECK(c["http"]["userAgent"] == "curl/8");
  CHECK(c["stage"] == "$default");
  CHECK(c["domainPrefix"] == "abc123");
  CHECK(c["timeEpoch"] == 1700000000123);
  CHECK(c["time"] == "14/Nov/2023:22:13:20 +0000");
}

TEST_CASE("payload 1.0 keeps multi-value maps and nulls for absent parts", "[apigateway]") {
  EventsFixture f(false);
  json e = event_v1(f.view, nullptr);
  CHECK_FALSE(e.contains("version"));
  CHECK(e["resource"] == "/items/{id}");
  CHECK(e["path"] == "/items/7");
  CHECK(e["headers"]["X-Multi"] == "b");
  CHECK(e["multiValueHeaders"]["X-Multi"] == json::array({"a", "b"}));
  CHECK(e["queryStringParameters"]["q"] == "2");
  CHECK(e["multiValueQueryStringParameters"]["q"] == json::array({"1", "2"}));
  CHECK(e["body"].is_null());
  CHECK(e["requestContext"]["path"] == "/Prod/items/7");
  CHECK(e["requestContext"]["resourcePath"] == "/items/{id}");
  CHECK(e["requestContext"]["identity"]["sourceIp"] == "127.0.0.1");
  CHECK(e["requestContext"]["identity"]["caller"].is_null());
  f.view.raw_query.clear();
  f.view.path_params.clear();
  json bare = event_v1(f.view, nullptr);
  CHECK(bare["queryStringParameters"].is_null());
  CHECK(bare["pathParameters"].is_null());
}

TEST_CASE("binary bodies are base64 by content type", "[apigateway]") {
  EventsFixture http(true);
  http.body = std::string("\x89PNG\x00\x01", 6);
  http.headers.add("Content-Type", "image/png");
  json e = event_v2(http.view, nullptr);
  CHECK(e["isBase64Encoded"] == true);
  CHECK(e["body"] == "iVBORwAB");
  EventsFixture rest(false);
  rest.body = "plain";
  rest.headers.add("Content-Type", "application/octet-stream");
  CHECK(event_v1(rest.view, nullptr)["isBase64Encoded"] == false);
  rest.api.binary_media_types = {"application/octet-stream"};
  CHECK(event_v1(rest.view, nullptr)["body"] == "cGxhaW4=");
}

// The 2.0 payload of an invocation is written as text directly: it must be, byte for byte, what
// the protocol's JSON writer writes for the same tree (members in nlohmann's order, its escapes,
// invalid UTF-8 replaced), whatever the request holds (repeated and mixed-case headers, cookies,
// repeated and empty query keys, escapes, invalid UTF-8, binary and text bodies, an authorizer, no
// path parameters or stage variables).
TEST_CASE("payload 2.0 text is the tree's JSON for varied requests", "[apigateway]") {
  const std::vector<std::string> pieces = {"a", "B", "x-multi", "Cookie", "q\"uote", "back\\slash", "tab\t", "caf\xc3\xa9",
                                           "bad\xff", "", "sp ace", "=", ";", "%20", "&"};
  std::mt19937 rng(11);
  auto pick = [&] { return pieces[rng() % pieces.size()]; };
  for (int round = 0; round < 2000; ++round) {
    EventsFixture f(true);
    f.headers = sless::http::Headers();
    for (int i = static_cast<int>(rng() % 6); i > 0; --i) {
      std::string name = rng() % 4 == 0 ? "cookie" : rng() % 3 == 0 ? "X-Multi" : "h" + pick();
      f.headers.add(name, pick() + (rng() % 2 ? "; " + pick() : ""));
    }
    if (rng() % 2) f.headers.add("User-Agent", pick());
    if (rng() % 3 == 0) f.headers.add("Content-Type", rng() % 2 ? "image/png" : "text/plain");
    f.view.raw_query.clear();
    for (int i = static_cast<int>(rng() % 4); i > 0; --i) f.view.raw_query += pick() + "=" + pick() + "&";
    f.body = rng() % 2 ? pick() + pick() : "";
    f.view.path_params.clear();
    if (rng() % 2) f.view.path_params[pick()] = pick();
    f.stage.variables.clear();
    if (rng() % 2) f.stage.variables[pick()] = pick();
    f.view.full_path = "/items/" + pick();
    f.view.domain = rng() % 2 ? "abc123.execute-api.localhost:4566" : "localhost";
    json authorizer = rng() % 2 ? json(nullptr) : json{{"lambda", {{"user", pick()}, {"n", 3}}}};
    REQUIRE(event_v2_text(f.view, authorizer) == sless::protocol::dump(event_v2(f.view, authorizer)));
  }
}

TEST_CASE("function answers map to HTTP responses", "[apigateway]") {
  auto r = response_v1(R"({"statusCode":201,"headers":{"A":"1"},"multiValueHeaders":{"B":["x","y"]},"body":"hi"})");
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(r->body == "hi");
  CHECK(r->headers.get_or("A", "") == "1");
  CHECK(r->headers.entries().size() == 4);  // A, B, B, Content-Type
  CHECK_FALSE(response_v1(R"({"body":"no status"})"));
  CHECK_FALSE(response_v1(R"({"statusCode":200,"body":{"not":"a string"}})"));
  CHECK_FALSE(response_v1("not json"));
  auto b = response_v1(R"({"statusCode":200,"body":"aGk=","isBase64Encoded":true})");
  REQUIRE(b);
  CHECK(b->body == "hi");

  auto inferred = response_v2(R"({"hello":"world"})");
  REQUIRE(inferred);
  CHECK(inferred->status == 200);
  CHECK(inferred->body == R"({"hello":"world"})");
  CHECK(inferred->headers.get_or("content-type", "") == "application/json");
  auto cookies = response_v2(R"({"statusCode":200,"cookies":["a=1","b=2"],"body":""})");
  REQUIRE(cookies);
  int set_cookies = 0;
  for (const auto& [k, v] : cookies->headers.entries()) set_cookies += k == "Set-Cookie";
  CHECK(set_cookies == 2);
  CHECK_FALSE(response_v2(R"({"statusCode":"200"})"));
}

TEST_CASE("authorizer events and method ARNs", "[apigateway]") {
  EventsFixture f(false);
  Authorizer token;
  token.type = "TOKEN";
  json t = authorizer_event(f.view, token, "Bearer x", {"Bearer x"});
  CHECK(t == json{{"type", "TOKEN"},
                  {"authorizationToken", "Bearer x"},
                  {"methodArn", "arn:aws:execute-api:us-east-1:000000000000:abc123/Prod/GET/items/7"}});
  EventsFixture h(true);
  Authorizer req;
  req.type = "REQUEST";
  req.payload_version = "2.0";
  json r = authorizer_event(h.view, req, "", {"a", "b"});
  CHECK(r["type"] == "REQUEST");
  CHECK(r["routeArn"] == "arn:aws:execute-api:us-east-1:000000000000:abc123/$default/GET/items/7");
  CHECK(r["identitySource"] == json::array({"a", "b"}));
  CHECK_FALSE(r.contains("body"));
}
