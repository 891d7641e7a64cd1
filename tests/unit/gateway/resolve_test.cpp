// Service resolution and parsing, replayed over one real botocore request per modelled
// operation of every service (requests.json, made by make_requests.py).
#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "gateway/resolve.h"
#include "protocol/codec.h"
#include "protocol/model.h"

using sless::gateway::resolve;
using sless::gateway::Target;
using nlohmann::json;

namespace {

struct ResolveFixture {
  std::string model;
  std::string operation;
  sless::http::Request request;
};

const std::vector<ResolveFixture>& fixtures() {
  static const std::vector<ResolveFixture> all = [] {
    std::ifstream f(std::string(SLESS_TEST_DATA) + "/gateway/requests.json");
    json doc = json::parse(f);
    std::vector<ResolveFixture> out;
    for (const auto& r : doc["requests"]) {
      ResolveFixture fx;
      fx.model = r["model"];
      fx.operation = r["operation"];
      fx.request.method = r["method"];
      fx.request.target = r["target"];
      fx.request.headers.add("Host", "127.0.0.1:4566");
      for (const auto& h : r["headers"]) fx.request.headers.add(h[0], h[1]);
      fx.request.body = *sless::enc::base64_decode(r["body_b64"].get<std::string>());
      out.push_back(std::move(fx));
    }
    return out;
  }();
  return all;
}

sless::http::Request without_signature(sless::http::Request r) {
  r.headers.remove("authorization");
  r.headers.remove("x-amz-date");
  r.headers.remove("x-amz-content-sha256");
  return r;
}

}  // namespace

TEST_CASE("every modelled operation resolves to its service", "[gateway][resolve]") {
  REQUIRE(fixtures().size() > 900);
  for (const auto& fx : fixtures()) {
    INFO(fx.model << "." << fx.operation << " " << fx.request.method << " " << fx.request.target);
    auto r = resolve(fx.request);
    CHECK(r.target == Target::kService);
    CHECK(r.model == fx.model);
  }
}

TEST_CASE("unsigned requests resolve by target, path, action and S3 last", "[gateway][resolve]") {
  for (const auto& fx : fixtures()) {
    INFO(fx.model << "." << fx.operation << " " << fx.request.method << " " << fx.request.target);
    auto r = resolve(without_signature(fx.request));
    CHECK(r.model == fx.model);
  }
}

TEST_CASE("every modelled operation parses to itself", "[gateway][protocol]") {
  auto& models = sless::protocol::ModelRegistry::instance();
  for (const auto& fx : fixtures()) {
    INFO(fx.model << "." << fx.operation << " " << fx.request.method << " " << fx.request.target);
    const auto* model = models.get(fx.model);
    REQUIRE(model != nullptr);
    auto parsed = sless::protocol::parse_request(*model, fx.request);
    if (!parsed.ok()) {
      FAIL_CHECK(parsed.error().code << ": " << parsed.error().message);
      continue;
    }
    // Operations whose requests are identical on the wire resolve to the current one.
    static const std::map<std::string, std::string> kSameWire = {
        {"ListDirectoryBuckets", "ListBuckets"},
        {"GetBucketLifecycle", "GetBucketLifecycleConfiguration"},
        {"PutBucketLifecycle", "PutBucketLifecycleConfiguration"},
        {"GetBucketNotification", "GetBucketNotificationConfiguration"},
        {"PutBucketNotification", "PutBucketNotificationConfiguration"},
    };
    auto alias = kSameWire.find(fx.operation);
    CHECK(parsed.value().op->name == (alias != kSameWire.end() && fx.model == "s3" ? alias->second : fx.operation));
  }
}

TEST_CASE("X-Amz-Target prefixes agree with the models", "[gateway][resolve]") {
  for (const char* name : {"dynamodb", "dynamodbstreams", "sqs", "kinesis", "stepfunctions", "events",
                           "cognito-idp", "kms", "logs"}) {
    const auto* m = sless::protocol::ModelRegistry::instance().get(name);
    REQUIRE(m);
    sless::http::Request r;
    r.method = "POST";
    r.target = "/";
    r.headers.add("X-Amz-Target", m->target_prefix + ".Anything");
    CHECK(resolve(r).model == name);
  }
}

TEST_CASE("internal, execute-api and virtual-hosted S3 requests", "[gateway][resolve]") {
  sless::http::Request r;
  r.method = "GET";
  r.target = "/_sless/health";
  CHECK(resolve(r).target == Target::kInternal);

  r.target = "/prod/items/1";
  r.headers.add("Host", "a1b2c3.execute-api.localhost:4566");
  auto api = resolve(r);
  CHECK(api.target == Target::kExecuteApi);
  CHECK(api.api_id == "a1b2c3");

  sless::http::Request p;
  p.method = "GET";
  p.target = "/_aws/execute-api/xyz/prod/items";
  CHECK(resolve(p).api_id == "xyz");

  for (const char* host : {"photos.s3.localhost:4566", "photos.s3.amazonaws.com", "photos.s3.us-east-1.amazonaws.com",
                           "photos.localhost:4566"}) {
    sless::http::Request s;
    s.method = "GET";
    s.target = "/cat.png";
    s.headers.add("Host", host);
    INFO(host);
    auto res = resolve(s);
    CHECK(res.model == "s3");
    CHECK(res.bucket == "photos");
  }
  sless::http::Request plain;
  plain.method = "GET";
  plain.target = "/photos/cat.png";
  plain.headers.add("Host", "127.0.0.1:4566");
  CHECK(resolve(plain).model == "s3");
  CHECK(resolve(plain).bucket.empty());
}

TEST_CASE("credential scope yields access key and region", "[gateway][resolve]") {
  sless::http::Request r;
  r.headers.add("Authorization",
                "AWS4-HMAC-SHA256 Credential=123456789012/20250101/eu-west-1/sqs/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=abc");
  auto c = sless::gateway::credential_scope(r);
  REQUIRE(c);
  CHECK(c->access_key == "123456789012");
  CHECK(c->region == "eu-west-1");
  CHECK(c->service == "sqs");

  sless::http::Request q;
  q.target = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250101%2Fus-west-2%2Fs3%2Faws4_request";
  auto qc = sless::gateway::credential_scope(q);
  REQUIRE(qc);
  CHECK(qc->region == "us-west-2");
  CHECK(qc->service == "s3");

  // The credential is found wherever it sits in the header; a header too short to hold the usual
  // prefix, or without a credential, yields none.
  auto scope_of = [](std::string auth) {
    sless::http::Request h;
    h.headers.add("authorization", std::move(auth));
    return sless::gateway::credential_scope(h);
  };
  auto moved = scope_of("AWS4-HMAC-SHA256  SignedHeaders=host, Credential=AKID/20250101/ap-south-1/kms/aws4_request");
  REQUIRE(moved);
  CHECK(moved->region == "ap-south-1");
  CHECK(moved->service == "kms");
  auto spaced = scope_of("AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-2/sns/aws4_request SignedHeaders=host");
  REQUIRE(spaced);
  CHECK(spaced->service == "sns");
  CHECK_FALSE(scope_of("AWS4 x"));
  CHECK_FALSE(scope_of(""));
  CHECK_FALSE(scope_of("AWS4-HMAC-SHA256 Credential="));
  CHECK_FALSE(scope_of("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc"));
}

TEST_CASE("SigV2 access keys come from the Authorization header or a presigned URL", "[gateway]") {
  sless::http::Request r;
  r.method = "GET";
  r.target = "/bucket/key";
  CHECK_FALSE(sless::gateway::sigv2_access_key(r).has_value());
  r.headers.add("Authorization", "AWS 111122223333:c2lnbmF0dXJl");
  CHECK(sless::gateway::sigv2_access_key(r) == std::optional<std::string>("111122223333"));
  sless::http::Request presigned;
  presigned.method = "GET";
  presigned.target = "/bucket/key?AWSAccessKeyId=AKIDEXAMPLE&Signature=abc%2B&Expires=1700000000";
  CHECK(sless::gateway::sigv2_access_key(presigned) == std::optional<std::string>("AKIDEXAMPLE"));
  sless::http::Request v4;
  v4.method = "GET";
  v4.target = "/";
  v4.headers.add("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request");
  CHECK_FALSE(sless::gateway::sigv2_access_key(v4).has_value());
}
