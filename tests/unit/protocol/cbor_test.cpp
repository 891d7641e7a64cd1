// The CBOR body codec (application/x-amz-cbor-1.1): decoding into the params tree, encoding a
// result tree by its shape, the codec hook in the JSON protocol, and hostile input (malformed,
// truncated, deep, random and mutated bytes) that must end in SerializationException, never a
// crash.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <random>
#include <string>

#include "core/encoding.h"
#include "protocol/cbor.h"
#include "protocol/codec.h"
#include "protocol/model.h"

using nlohmann::json;
using namespace sless::protocol;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

std::string text_item(const std::string& s) {  // a definite text string shorter than 24 bytes
  return std::string(1, static_cast<char>(0x60 + s.size())) + s;
}

const ServiceModel& kinesis() {
  const ServiceModel* m = ModelRegistry::instance().get("kinesis");
  REQUIRE(m);
  return *m;
}

sless::http::Request cbor_request(std::string target, std::string body) {
  sless::http::Request r;
  r.method = "POST";
  r.target = "/";
  r.headers.add("Content-Type", "application/x-amz-cbor-1.1");
  r.headers.add("X-Amz-Target", "Kinesis_20131202." + target);
  r.body = std::move(body);
  return r;
}

bool is_serialization_error(const sless::Outcome<json>& r) {
  return !r.ok() && r.error().code == "SerializationException" && r.error().http_status == 400;
}

}  // namespace

TEST_CASE("cbor: scalars, byte strings and tag 1 decode into the params tree", "[protocol][cbor]") {
  // {"a": 1, "b": -2, "c": h'010203', "d": 1(1700000000123), "e": true, "f": null, "g": 1.5, "h": [ "x" ]}
  std::string in = bytes({0xa8}) + text_item("a") + bytes({0x01}) + text_item("b") + bytes({0x21}) +
                   text_item("c") + bytes({0x43, 1, 2, 3}) + text_item("d") +
                   bytes({0xc1, 0x1b, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b}) + text_item("e") +
                   bytes({0xf5}) + text_item("f") + bytes({0xf6}) + text_item("g") +
                   bytes({0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}) + text_item("h") + bytes({0x81}) + text_item("x");
  auto r = cbor::decode(in);
  REQUIRE(r.ok());
  const json& v = r.value();
  CHECK(v["a"] == 1);
  CHECK(v["b"] == -2);
  CHECK(v["c"] == sless::enc::base64_encode(bytes({1, 2, 3})));
  CHECK(v["d"].get<double>() == Approx(1700000000.123));
  CHECK(v["e"] == true);
  CHECK(v["f"].is_null());
  CHECK(v["g"] == 1.5);
  CHECK(v["h"] == json::array({"x"}));
}

TEST_CASE("cbor: indefinite-length maps, arrays and chunked strings (Jackson's style)", "[protocol][cbor]") {
  // {_ "k": [_ "a", "b"], "s": (_ "he", "llo"), "y": (_ h'01', h'02')}
  std::string in = bytes({0xbf}) + text_item("k") + bytes({0x9f}) + text_item("a") + text_item("b") + bytes({0xff}) +
                   text_item("s") + bytes({0x7f}) + text_item("he") + text_item("llo") + bytes({0xff}) +
                   text_item("y") + bytes({0x5f, 0x41, 0x01, 0x41, 0x02, 0xff}) + bytes({0xff});
  auto r = cbor::decode(in);
  REQUIRE(r.ok());
  CHECK(r.value()["k"] == json::array({"a", "b"}));
  CHECK(r.value()["s"] == "hello");
  CHECK(r.value()["y"] == sless::enc::base64_encode(bytes({1, 2})));
}

TEST_CASE("cbor: large and negative integers keep their values", "[protocol][cbor]") {
  auto r = cbor::decode(bytes({0x82, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3b, 0x7f, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff}));
  REQUIRE(r.ok());
  CHECK(r.value()[0].get<uint64_t>() == UINT64_MAX);
  CHECK(r.value()[1].get<int64_t>() == INT64_MIN);
}

TEST_CASE("cbor: encoding follows the shape and round-trips", "[protocol][cbor]") {
  const Operation* op = kinesis().find_operation("GetRecords");
  REQUIRE(op);
  std::string data = bytes({0, 1, 2, 0xff, 0xfe});
  json result = {{"Records", json::array({{{"SequenceNumber", "49000000000000000000000000000000000000000000000000000001"},
                                           {"ApproximateArrivalTimestamp", 1700000000.5},
                                           {"Data", sless::enc::base64_encode(data)},
                                           {"PartitionKey", "pk"}}})},
                 {"NextShardIterator", "it"},
                 {"MillisBehindLatest", 0}};
  std::string out = cbor::encode(result, op->output);
  // The blob leaves as a byte string and the timestamp as tag 1 around epoch milliseconds.
  CHECK(out.find(bytes({0x45, 0, 1, 2, 0xff, 0xfe})) != std::string::npos);
  CHECK(out.find(bytes({0xc1, 0x1b, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x69, 0xf4})) != std::string::npos);
  auto back = cbor::decode(out);
  REQUIRE(back.ok());
  CHECK(back.value() == result);

  // Without a shape every value goes by its JSON type.
  json plain = {{"s", "text"}, {"n", -5}, {"u", 7u}, {"f", 0.25}, {"b", false}, {"z", nullptr},
                {"l", json::array({1, json::object({{"x", "y"}})})}};
  auto plain_back = cbor::decode(cbor::encode(plain, nullptr));
  REQUIRE(plain_back.ok());
  CHECK(plain_back.value() == plain);
}

TEST_CASE("cbor: malformed input answers SerializationException", "[protocol][cbor]") {
  CHECK(is_serialization_error(cbor::decode(bytes({0xa1, 0x61}))));                    // truncated key
  CHECK(is_serialization_error(cbor::decode(bytes({0xa1}))));                          // map never filled
  CHECK(is_serialization_error(cbor::decode(bytes({0xbf, 0x61, 'a', 0x01}))));         // no break
  CHECK(is_serialization_error(cbor::decode(bytes({0xa1, 0x01, 0x01}))));              // integer key
  CHECK(is_serialization_error(cbor::decode(bytes({0xff}))));                          // stray break
  CHECK(is_serialization_error(cbor::decode(bytes({0x01, 0x02}))));                    // trailing bytes
  CHECK(is_serialization_error(cbor::decode(bytes({0x1c}))));                          // reserved
  CHECK(is_serialization_error(cbor::decode(bytes({0xc1, 0x61, 'x'}))));               // tag 1 on text
  CHECK(is_serialization_error(cbor::decode(bytes({0xc1, 0xc1, 0x01}))));              // nested tags
  CHECK(is_serialization_error(cbor::decode(bytes({0x7f, 0x41, 0x01, 0xff}))));        // bytes in text
  CHECK(is_serialization_error(cbor::decode(bytes({0x5f, 0x01, 0xff}))));              // int in bytes
  CHECK(is_serialization_error(cbor::decode(bytes({0xbf, 0x61, 'a', 0xff}))));         // key, no value
  CHECK(is_serialization_error(cbor::decode(bytes({0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))));
  CHECK(is_serialization_error(cbor::decode(bytes({0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))));
  std::string deep(100000, static_cast<char>(0x81));  // [[[[...]]]] far past the depth limit
  deep.push_back(0x01);
  CHECK(is_serialization_error(cbor::decode(deep)));
  std::string ok_depth(cbor::kMaxDepth - 1, static_cast<char>(0x81));
  ok_depth.push_back(0x01);
  CHECK(cbor::decode(ok_depth).ok());
}

TEST_CASE("cbor: random and mutated input never crashes", "[protocol][cbor]") {
  std::mt19937_64 rng(20131202);
  const Operation* op = kinesis().find_operation("GetRecords");
  json sample = {{"Records", json::array({{{"SequenceNumber", "1"}, {"ApproximateArrivalTimestamp", 1.5},
                                           {"Data", "AAEC"}, {"PartitionKey", "p"}}})},
                 {"NextShardIterator", "abc"}, {"MillisBehindLatest", 3}, {"Nested", {{"a", {1, 2, {{"b", nullptr}}}}}}};
  const std::string seed = cbor::encode(sample, op->output);
  size_t ok = 0;
  size_t rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string in;
    if (i % 2 == 0) {
      size_t n = rng() % 64;
      for (size_t k = 0; k < n; ++k) in.push_back(static_cast<char>(rng() & 0xff));
    } else {
      in = seed;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !in.empty(); ++e) {
        size_t at = rng() % in.size();
        switch (rng() % 3) {
          case 0: in[at] = static_cast<char>(rng() & 0xff); break;
          case 1: in.erase(at, 1 + rng() % 3); break;
          default: in.insert(at, 1, static_cast<char>(rng() & 0xff)); break;
        }
      }
    }
    auto r = cbor::decode(in);
    if (r.ok()) {
      ++ok;
      // Whatever decoded must encode again.
      (void)cbor::encode(r.value(), nullptr);
    } else {
      REQUIRE(r.error().code == "SerializationException");
      ++rejected;
    }
  }
  CHECK(ok + rejected == 20000);
  CHECK(rejected > 0);
}

TEST_CASE("cbor: a Kinesis request in CBOR parses, validates and is answered in CBOR", "[protocol][cbor]") {
  // {_ "StreamName": "s", "Data": h'68690a', "PartitionKey": "k"}
  std::string body = bytes({0xbf}) + bytes({0x6a}) + "StreamName" + text_item("s") + text_item("Data") +
                     bytes({0x43, 'h', 'i', '\n'}) + bytes({0x6c}) + "PartitionKey" + text_item("k") + bytes({0xff});
  auto req = cbor_request("PutRecord", body);
  REQUIRE(body_encoding(kinesis(), req) == BodyEncoding::kCbor);
  auto parsed = parse_request(kinesis(), req);
  REQUIRE(parsed.ok());
  CHECK(parsed.value().op->name == "PutRecord");
  CHECK(parsed.value().params["Data"] == sless::enc::base64_encode("hi\n"));
  CHECK(parsed.value().params["StreamName"] == "s");

  // A CBOR body missing a required member fails validation like JSON would.
  auto missing = parse_request(kinesis(), cbor_request("PutRecord", bytes({0xa1, 0x6a}) + "StreamName" + text_item("s")));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "ValidationException");

  // Garbage is a SerializationException, and the error goes back as CBOR.
  auto bad = parse_request(kinesis(), cbor_request("PutRecord", bytes({0xbf, 0x61})));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "SerializationException");
  auto res = serialize_error(kinesis(), nullptr, bad.error(), "rid", false, BodyEncoding::kCbor);
  CHECK(res.status == 400);
  CHECK(res.headers.get_or("content-type", "") == "application/x-amz-cbor-1.1");
  auto err = cbor::decode(res.body);
  REQUIRE(err.ok());
  CHECK(err.value()["__type"].get<std::string>().find("SerializationException") != std::string::npos);
  CHECK(err.value()["message"].is_string());

  // A result goes back as CBOR with the output's shape.
  OperationOutput out(json{{"ShardId", "shardId-000000000000"}, {"SequenceNumber", "1"}});
  auto ok = serialize_result(kinesis(), *parsed.value().op, std::move(out), "rid", BodyEncoding::kCbor);
  CHECK(ok.headers.get_or("content-type", "") == "application/x-amz-cbor-1.1");
  auto decoded = cbor::decode(ok.body);
  REQUIRE(decoded.ok());
  CHECK(decoded.value()["ShardId"] == "shardId-000000000000");

  // JSON stays JSON.
  sless::http::Request j = req;
  j.headers = {};
  j.headers.add("Content-Type", "application/x-amz-json-1.1");
  CHECK(body_encoding(kinesis(), j) == BodyEncoding::kNative);
}
