// The engine through the operations: items with a GSI and a stream, TTL expiry with its REMOVE
// record, conditional writes racing (exactly one winner), and state surviving a reopen.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/clock.h"
#include "services/dynamodb/ops.h"
#include "storage/store.h"

using sless::services::dynamodb::Json;
namespace ddb = sless::services::dynamodb;
namespace ops = sless::services::dynamodb::ops;

namespace {

struct Harness {
  std::string dir;
  std::unique_ptr<sless::storage::Store> store;
  sless::ManualClock clock{1700000000000};
  std::unique_ptr<ddb::Engine> engine;
  sless::services::RequestContext ctx;

  explicit Harness(std::string d) : dir(std::move(d)) {
    ctx.account = "123456789012";
    ctx.region = "eu-west-1";
    open();
  }
  void open() {
    sless::storage::Options o;
    o.dir = dir;
    auto s = sless::storage::Store::open(o);
    REQUIRE(s.ok());
    store = std::move(s).value();
    engine = std::make_unique<ddb::Engine>();
    REQUIRE(engine->start(store.get(), nullptr, &clock).is_ok());
  }
  void reopen() {
    engine.reset();
    store.reset();
    open();
  }
  Json call(ops::Output (*fn)(ddb::Engine&, const sless::services::RequestContext&, Json&), const char* text) {
    Json p = Json::parse(text);
    ctx.now_ms = clock.now_ms();
    auto out = fn(*engine, ctx, p);
    if (!out.ok()) {
      return Json{{"error", out.error().code}, {"message", out.error().message}};
    }
    if (out.value().raw_payload) {
      return Json::parse(*out.value().raw_payload);
    }
    return out.value().result;
  }
};

std::string temp_dir(const char* name) {
  auto d = std::filesystem::temp_directory_path() / (std::string("sless-ddb-") + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

}  // namespace

TEST_CASE("items, a GSI, a stream and TTL through the engine", "[dynamodb]") {
  const std::string dir = temp_dir("engine");
  Harness h(dir);
  REQUIRE_FALSE(h.call(ops::create_table, R"({"TableName":"orders","BillingMode":"PAY_PER_REQUEST",
      "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
      "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},
                              {"AttributeName":"status","AttributeType":"S"}],
      "GlobalSecondaryIndexes":[{"IndexName":"by_status","KeySchema":[{"AttributeName":"status","KeyType":"HASH"}],
                                 "Projection":{"ProjectionType":"KEYS_ONLY"}}],
      "StreamSpecification":{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"}})").contains("error"));
  REQUIRE_FALSE(h.call(ops::update_time_to_live, R"({"TableName":"orders",
      "TimeToLiveSpecification":{"Enabled":true,"AttributeName":"expires"}})").contains("error"));
  for (int i = 0; i < 5; ++i) {
    std::string item = R"({"TableName":"orders","Item":{"pk":{"S":"c1"},"sk":{"N":")" + std::to_string(i) +
                       R"("},"status":{"S":")" + (i % 2 ? "open" : "done") + R"("}}})";
    REQUIRE_FALSE(h.call(ops::put_item, item.c_str()).contains("error"));
  }
  // Sorted numerically, newest first.
  Json q = h.call(ops::query, R"({"TableName":"orders","KeyConditionExpression":"pk = :p AND sk >= :s",
      "ExpressionAttributeValues":{":p":{"S":"c1"},":s":{"N":"1"}},"ScanIndexForward":false})");
  REQUIRE(q["Count"] == 4);
  CHECK(q["Items"][0]["sk"]["N"] == "4");
  Json g = h.call(ops::query, R"({"TableName":"orders","IndexName":"by_status","KeyConditionExpression":"#s = :o",
      "ExpressionAttributeNames":{"#s":"status"},"ExpressionAttributeValues":{":o":{"S":"open"}}})");
  CHECK(g["Count"] == 2);
  // An expiring item goes once the clock passes its time, with a REMOVE record from the TTL service.
  REQUIRE_FALSE(h.call(ops::put_item, R"({"TableName":"orders","Item":{"pk":{"S":"c2"},"sk":{"N":"1"},
      "expires":{"N":"1700000005"}}})").contains("error"));
  CHECK(h.engine->sweep_ttl() == 0);
  h.clock.advance_ms(10000);
  CHECK(h.engine->sweep_ttl() == 1);
  Json gone = h.call(ops::get_item, R"({"TableName":"orders","Key":{"pk":{"S":"c2"},"sk":{"N":"1"}}})");
  CHECK_FALSE(gone.contains("Item"));
  auto streams = h.engine->streams(h.ctx.account, h.ctx.region);
  REQUIRE(streams.size() == 1);
  auto records = h.engine->read_stream(*streams[0], 0, 100);
  REQUIRE(records.size() == 7);
  Json last = Json::parse(records.back().json);
  CHECK(last["eventName"] == "REMOVE");
  CHECK(last["userIdentity"]["PrincipalId"] == "dynamodb.amazonaws.com");
  CHECK(last["dynamodb"]["OldImage"]["expires"]["N"] == "1700000005");
  for (size_t i = 1; i < records.size(); ++i) {
    CHECK(records[i - 1].sequence < records[i].sequence);
  }

  // Everything is still there after reopening the store.
  h.reopen();
  Json again = h.call(ops::query, R"({"TableName":"orders","KeyConditionExpression":"pk = :p",
      "ExpressionAttributeValues":{":p":{"S":"c1"}}})");
  CHECK(again["Count"] == 5);
  Json d = h.call(ops::describe_table, R"({"TableName":"orders"})");
  CHECK(d["Table"]["ItemCount"] == 5);
  CHECK(d["Table"]["GlobalSecondaryIndexes"][0]["ItemCount"] == 5);
  auto reopened = h.engine->streams(h.ctx.account, h.ctx.region);
  REQUIRE(reopened.size() == 1);
  CHECK(h.engine->read_stream(*reopened[0], 0, 100).size() == 7);
  h.engine.reset();
  h.store.reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("concurrent conditional writes have exactly one winner", "[dynamodb]") {
  const std::string dir = temp_dir("race");
  Harness h(dir);
  REQUIRE_FALSE(h.call(ops::create_table, R"({"TableName":"locks","BillingMode":"PAY_PER_REQUEST",
      "KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],
      "AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}]})").contains("error"));
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> wins{0};
    std::atomic<int> losses{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        Json p = Json::parse(R"({"TableName":"locks","Item":{"id":{"S":"lock-)" + std::to_string(round) +
                             R"("},"owner":{"N":")" + std::to_string(t) +
                             R"J("}},"ConditionExpression":"attribute_not_exists(id)"})J");
        auto out = ops::put_item(*h.engine, h.ctx, p);
        (out.ok() ? wins : losses)++;
        if (!out.ok()) {
          CHECK(out.error().code == "ConditionalCheckFailedException");
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(wins == 1);
    CHECK(losses == 3);
  }
  h.engine.reset();
  h.store.reset();
  std::filesystem::remove_all(dir);
}
