// The DynamoDB fuzz targets' common ground (fuzz_dynamodb, fuzz_partiql): an in-memory table
// `fuzz` (pk S, sk N, a GSI by_g on g) holding two items of every attribute type, a fixed
// ExpressionAttributeNames / Values map, and the check of an operation's answer. Each target's
// translation unit gets its own fixture.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "core/clock.h"
#include "fuzz_target.h"
#include "services/dynamodb/common.h"
#include "services/dynamodb/ops.h"
#include "storage/store.h"

namespace sless::fuzz::dynamodb {

namespace ddb = sless::services::dynamodb;
namespace ops = sless::services::dynamodb::ops;
using ddb::Json;

inline const char* const kNames = R"({"#a":"a","#b":"b","#pk":"pk","#sk":"sk","#l":"l","#m":"m","#ss":"ss","#g":"g",
  "#dot":"a.b","#k":"k"})";
inline const char* const kValues = R"({":s":{"S":"x"},":p":{"S":"p"},":e":{"S":""},":n":{"N":"1"},":n2":{"N":"-2.5E3"},
  ":big":{"N":"9.9999999999999999999999999999999999999E+125"},":l":{"L":[{"N":"1"},{"S":"two"}]},
  ":m":{"M":{"k":{"S":"v"}}},":ss":{"SS":["a","b"]},":ns":{"NS":["1","2"]},":bs":{"BS":["AQI="]},
  ":b":{"B":"AQI="},":t":{"BOOL":true},":null":{"NULL":true}})";
inline const char* const kItem = R"({"pk":{"S":"p"},"sk":{"N":"1"},"a":{"S":"x"},"b":{"N":"2"},
  "l":{"L":[{"N":"1"},{"S":"two"},{"M":{"c":{"BOOL":true}}},{"L":[{"NULL":true}]}]},
  "m":{"M":{"k":{"S":"v"},"n":{"N":"3"},"inner":{"M":{"z":{"NULL":true}}}}},"ss":{"SS":["a","b"]},
  "ns":{"NS":["1","2"]},"bs":{"BS":["AQI="]},"g":{"S":"gk"},"t":{"BOOL":false},"a.b":{"S":"dotted"}})";

struct Fixture {
  Json names = Json::parse(kNames);
  Json values = Json::parse(kValues);
  Json item = Json::parse(kItem);
  std::unique_ptr<sless::storage::Store> store;
  sless::ManualClock clock{1700000000000};
  ddb::Engine engine;
  sless::services::RequestContext ctx;

  Fixture() {
    FUZZ_CHECK(!ddb::normalize_item(values));
    FUZZ_CHECK(!ddb::normalize_item(item));
    sless::storage::Options o;
    o.in_memory = true;
    auto s = sless::storage::Store::open(o);
    FUZZ_CHECK(s.ok());
    store = std::move(s).value();
    FUZZ_CHECK(engine.start(store.get(), nullptr, &clock).is_ok());
    ctx.account = "123456789012";
    ctx.region = "us-east-1";
    ctx.now_ms = clock.now_ms();
    Json create = Json::parse(R"({"TableName":"fuzz","BillingMode":"PAY_PER_REQUEST",
        "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
        "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},
                                {"AttributeName":"g","AttributeType":"S"}],
        "GlobalSecondaryIndexes":[{"IndexName":"by_g","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],
                                   "Projection":{"ProjectionType":"ALL"}}]})");
    auto created = ops::create_table(engine, ctx, create);
    if (!created.ok()) std::fprintf(stderr, "dynamodb fixture: CreateTable: %s\n", created.error().message.c_str());
    FUZZ_CHECK(created.ok());
    put_items();
  }

  // Puts the two items back as they were at the start (sk 1, and sk 2 with a = "y").
  void put_items() {
    put_item();
    Json second = item;
    second["sk"] = Json{{"N", "2"}};
    second["a"] = Json{{"S", "y"}};
    Json put = {{"TableName", "fuzz"}, {"Item", second}};
    FUZZ_CHECK(ops::put_item(engine, ctx, put).ok());
  }

  void put_item() {
    Json put = {{"TableName", "fuzz"}, {"Item", item}};
    FUZZ_CHECK(ops::put_item(engine, ctx, put).ok());
  }
};


// What an operation answers: a JSON body, or one of the errors bad expressions may cause.
inline void check_output(const ops::Output& out) {
  if (!out.ok()) {
    const auto& e = out.error();
    FUZZ_CHECK(e.code == "ValidationException" || e.code == "ConditionalCheckFailedException");
    FUZZ_CHECK(!e.message.empty());
    return;
  }
  if (out.value().raw_payload) {
    FUZZ_CHECK(Json::accept(*out.value().raw_payload));
  }
}

}  // namespace sless::fuzz::dynamodb
