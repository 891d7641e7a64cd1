// The Kinesis provider in-process, on a real store, a manual clock and a hand-driven scheduler:
// what needs time to pass (retention, iterator expiry, status transitions), restarts on the
// same data directory, concurrent writers, and the typed API the function host reads with.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/encoding.h"
#include "core/scheduler.h"
#include "protocol/codec.h"
#include "protocol/model.h"
#include "services/kinesis/provider.h"
#include "storage/store.h"
#include "unit/support/manual_scheduler.h"
#include "unit/support/temp_dir.h"
#include "unit/support/provider_harness.h"

using nlohmann::json;
using namespace sless;
using namespace sless::services;
using kinesis::KinesisProvider;

namespace {

namespace fs = std::filesystem;

kinesis::ReadPosition position_from(kinesis::ReadFrom where) {
  kinesis::ReadPosition p;
  p.from = where;
  return p;
}

using sless::testing::ManualScheduler;
using sless::testing::TempDir;

constexpr int64_t kHour = 3600 * 1000;

// One provider on one store; reopen() simulates a restart on the same directory.
class KinesisFixture : public sless::testing::ProviderHarness<KinesisProvider> {
 public:
  using ProviderHarness::ProviderHarness;

  // Calls an operation as the gateway would (validation first); errors come back as
  // {"error": code, "message": ...}.
  json call(const std::string& op, json params) {
    const auto* model = protocol::ModelRegistry::instance().get("kinesis");
    const auto* operation = model->find_operation(op);
    REQUIRE(operation);
    if (operation->input) {
      if (auto err = protocol::validate(*model, *operation->input, params)) {
        return {{"error", err->code}, {"message", err->message}};
      }
    }
    std::mutex mu;
    bool answered = false;
    json result;
    Invocation inv;
    inv.ctx.account = "000000000000";
    inv.ctx.region = "us-east-1";
    inv.ctx.service = "kinesis";
    inv.ctx.operation = op;
    inv.op = operation;
    inv.params = std::move(params);
    inv.done = [&](Outcome<protocol::OperationOutput> out) {
      std::lock_guard lock(mu);
      result = out.ok() ? out.value().result : json{{"error", out.error().code}, {"message", out.error().message}};
      answered = true;
    };
    provider_->invoke(std::move(inv));
    // PutRecord answers from its group commit, a posted task: run those until it has.
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (answered) return result;
      }
      scheduler_.run_posted();
      std::this_thread::yield();
    }
  }

  json put(const std::string& stream, const std::string& data, const std::string& key) {
    return call("PutRecord", {{"StreamName", stream}, {"Data", enc::base64_encode(data)}, {"PartitionKey", key}});
  }

  std::string iterator(const std::string& stream, const std::string& shard, json extra) {
    extra["StreamName"] = stream;
    extra["ShardId"] = shard;
    json r = call("GetShardIterator", extra);
    INFO(r.dump());
    REQUIRE(r.contains("ShardIterator"));
    return r["ShardIterator"];
  }

  // Every record's data from a shard, starting at TRIM_HORIZON.
  std::vector<std::string> read_all(const std::string& stream, const std::string& shard) {
    std::vector<std::string> out;
    std::string it = iterator(stream, shard, {{"ShardIteratorType", "TRIM_HORIZON"}});
    for (int guard = 0; guard < 1000; ++guard) {
      json r = call("GetRecords", {{"ShardIterator", it}, {"Limit", 1000}});
      INFO(r.dump());
      REQUIRE(r.contains("Records"));
      for (const auto& rec : r["Records"]) out.push_back(*enc::base64_decode(rec["Data"].get<std::string>()));
      if (!r.contains("NextShardIterator") || r["Records"].empty()) break;
      it = r["NextShardIterator"];
    }
    return out;
  }


};

}  // namespace

TEST_CASE("kinesis: records expire with the retention period, by read and by sweep", "[kinesis]") {
  KinesisFixture f;
  REQUIRE_FALSE(f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 1}}).contains("error"));
  f.put("s", "old", "k");
  f.clock().advance_ms(2 * kHour);
  f.put("s", "new", "k");
  CHECK(f.read_all("s", "shardId-000000000000") == std::vector<std::string>{"old", "new"});

  // 23 hours after the first record: still there. 24 hours and a bit: the first one is gone.
  f.clock().advance_ms(21 * kHour);
  CHECK(f.read_all("s", "shardId-000000000000").size() == 2);
  f.clock().advance_ms(1 * kHour + 1);
  CHECK(f.read_all("s", "shardId-000000000000") == std::vector<std::string>{"new"});

  // The sweep removes it from the store; reading still agrees, and the shard's numbering goes on.
  f.provider().sweep_retention();
  CHECK(f.read_all("s", "shardId-000000000000") == std::vector<std::string>{"new"});
  json third = f.put("s", "third", "k");
  CHECK(third["SequenceNumber"].get<std::string>().substr(36) == "00000000000000000002");

  // Longer retention keeps records longer (now 24 h after the first record).
  REQUIRE_FALSE(f.call("IncreaseStreamRetentionPeriod", {{"StreamName", "s"}, {"RetentionPeriodHours", 48}})
                    .contains("error"));
  f.clock().advance_ms(20 * kHour);
  CHECK(f.read_all("s", "shardId-000000000000") == std::vector<std::string>{"new", "third"});
  // Shorter retention expires them at once.
  REQUIRE_FALSE(f.call("DecreaseStreamRetentionPeriod", {{"StreamName", "s"}, {"RetentionPeriodHours", 24}})
                    .contains("error"));
  CHECK(f.read_all("s", "shardId-000000000000") == std::vector<std::string>{"third"});
  // The timer's sweep runs when the scheduler fires it.
  f.clock().advance_ms(5 * kHour);
  f.scheduler().run_pending();
  CHECK(f.read_all("s", "shardId-000000000000").empty());
}

TEST_CASE("kinesis: retention limits and direction", "[kinesis]") {
  KinesisFixture f;
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 1}});
  json r = f.call("IncreaseStreamRetentionPeriod", {{"StreamName", "s"}, {"RetentionPeriodHours", 8761}});
  CHECK(r["error"] == "InvalidArgumentException");
  r = f.call("DecreaseStreamRetentionPeriod", {{"StreamName", "s"}, {"RetentionPeriodHours", 23}});
  CHECK(r["error"] == "InvalidArgumentException");
  f.call("IncreaseStreamRetentionPeriod", {{"StreamName", "s"}, {"RetentionPeriodHours", 100}});
  r = f.call("IncreaseStreamRetentionPeriod", {{"StreamName", "s"}, {"RetentionPeriodHours", 50}});
  CHECK(r["error"] == "InvalidArgumentException");
  r = f.call("DecreaseStreamRetentionPeriod", {{"StreamName", "s"}, {"RetentionPeriodHours", 200}});
  CHECK(r["error"] == "InvalidArgumentException");
  json d = f.call("DescribeStreamSummary", {{"StreamName", "s"}});
  CHECK(d["StreamDescriptionSummary"]["RetentionPeriodHours"] == 100);
}

TEST_CASE("kinesis: shard iterators expire after five minutes", "[kinesis]") {
  KinesisFixture f;
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 1}});
  f.put("s", "x", "k");
  std::string it = f.iterator("s", "shardId-000000000000", {{"ShardIteratorType", "TRIM_HORIZON"}});
  f.clock().advance_ms(300000);
  json ok = f.call("GetRecords", {{"ShardIterator", it}});
  REQUIRE(ok.contains("Records"));
  CHECK(ok["Records"].size() == 1);
  f.clock().advance_ms(1);
  json expired = f.call("GetRecords", {{"ShardIterator", it}});
  CHECK(expired["error"] == "ExpiredIteratorException");
  // The iterator GetRecords hands back is fresh.
  json next = f.call("GetRecords", {{"ShardIterator", ok["NextShardIterator"]}});
  CHECK(next.contains("Records"));
  CHECK(f.call("GetRecords", {{"ShardIterator", "bm90IGFuIGl0ZXJhdG9y"}})["error"] == "InvalidArgumentException");
}

TEST_CASE("kinesis: status transitions follow the clock when a delay is set", "[kinesis]") {
  ::setenv("SLESS_KINESIS_STATUS_DELAY_MS", "500", 1);
  KinesisFixture f;
  ::unsetenv("SLESS_KINESIS_STATUS_DELAY_MS");
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 1}});
  CHECK(f.call("DescribeStream", {{"StreamName", "s"}})["StreamDescription"]["StreamStatus"] == "CREATING");
  CHECK(f.put("s", "x", "k")["error"] == "ResourceNotFoundException");
  f.clock().advance_ms(500);
  CHECK(f.call("DescribeStream", {{"StreamName", "s"}})["StreamDescription"]["StreamStatus"] == "ACTIVE");
  CHECK(f.put("s", "x", "k").contains("SequenceNumber"));
  f.call("SplitShard", {{"StreamName", "s"}, {"ShardToSplit", "shardId-000000000000"},
                        {"NewStartingHashKey", "170141183460469231731687303715884105728"}});
  CHECK(f.call("DescribeStream", {{"StreamName", "s"}})["StreamDescription"]["StreamStatus"] == "UPDATING");
  CHECK(f.put("s", "y", "k").contains("SequenceNumber"));  // writes go on while UPDATING
  json again = f.call("MergeShards", {{"StreamName", "s"}, {"ShardToMerge", "shardId-000000000001"},
                                      {"AdjacentShardToMerge", "shardId-000000000002"}});
  CHECK(again["error"] == "ResourceInUseException");
  f.clock().advance_ms(500);
  CHECK(f.call("DeleteStream", {{"StreamName", "s"}}).is_object());
  CHECK(f.call("DescribeStream", {{"StreamName", "s"}})["StreamDescription"]["StreamStatus"] == "DELETING");
  f.clock().advance_ms(500);
  CHECK(f.call("DescribeStream", {{"StreamName", "s"}})["error"] == "ResourceNotFoundException");
  f.scheduler().run_pending();  // the deletion timer removes what is left
  CHECK(f.call("ListStreams", json::object())["StreamNames"].empty());
}

TEST_CASE("kinesis: records, positions and trims survive a restart", "[kinesis]") {
  TempDir dir;
  KinesisFixture f(dir.str());
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 2}});
  std::vector<std::string> seqs;
  for (int i = 0; i < 20; ++i) seqs.push_back(f.put("s", "r" + std::to_string(i), "same-key")["SequenceNumber"]);
  std::string shard = f.put("s", "probe", "same-key")["ShardId"];
  f.call("SplitShard", {{"StreamName", "s"}, {"ShardToSplit", "shardId-000000000001"},
                        {"NewStartingHashKey", "255211775190703847597530955573826158592"}});
  f.call("AddTagsToStream", {{"StreamName", "s"}, {"Tags", {{"team", "iot"}}}});
  f.reopen();

  auto records = f.read_all("s", shard);
  REQUIRE(records.size() == 21);
  CHECK(records.front() == "r0");
  CHECK(records.back() == "probe");
  json d = f.call("DescribeStream", {{"StreamName", "s"}});
  CHECK(d["StreamDescription"]["Shards"].size() == 4);
  CHECK(f.call("ListTagsForStream", {{"StreamName", "s"}})["Tags"][0]["Key"] == "team");
  // Numbering goes on past what was written before the restart.
  std::string after = f.put("s", "after", "same-key")["SequenceNumber"];
  CHECK(after > seqs.back());

  // A shard whose records all expired keeps counting upwards after a restart too.
  f.clock().advance_ms(25 * kHour);
  f.provider().sweep_retention();
  f.reopen();
  json fresh = f.put("s", "fresh", "same-key");
  CHECK(fresh["SequenceNumber"].get<std::string>() > after);
}

TEST_CASE("kinesis: concurrent writers keep per-shard order", "[kinesis]") {
  KinesisFixture f;
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 3}});
  constexpr int kThreads = 4;
  constexpr int kEach = 300;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Each writer uses a few partition keys; its own records of one key must stay in order.
        std::string key = "w" + std::to_string(t) + "-" + std::to_string(i % 5);
        json r = (i % 10 == 0)
                     ? f.call("PutRecords", {{"StreamName", "s"},
                                             {"Records", {{{"Data", enc::base64_encode(std::to_string(t) + ":" +
                                                                                        std::to_string(i))},
                                                           {"PartitionKey", key}}}}})
                     : f.put("s", std::to_string(t) + ":" + std::to_string(i), key);
        if (r.contains("error")) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  size_t total = 0;
  for (const char* shard : {"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}) {
    std::map<int, int> last;  // writer -> last index seen in this shard
    for (const auto& rec : f.read_all("s", shard)) {
      int t = std::stoi(rec.substr(0, rec.find(':')));
      int i = std::stoi(rec.substr(rec.find(':') + 1));
      auto it = last.find(t);
      if (it != last.end()) CHECK(i > it->second);
      last[t] = i;
      ++total;
    }
  }
  CHECK(total == kThreads * kEach);
}

TEST_CASE("kinesis: split and merge keep lineage and order across it", "[kinesis]") {
  KinesisFixture f;
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 1}});
  // Explicit hash keys put records on either side of the coming split.
  auto put_at = [&](const std::string& data, const std::string& hash) {
    return f.call("PutRecord", {{"StreamName", "s"}, {"Data", enc::base64_encode(data)}, {"PartitionKey", "k"},
                                {"ExplicitHashKey", hash}});
  };
  put_at("before-low", "1");
  put_at("before-high", "300000000000000000000000000000000000000");
  std::string mid = "170141183460469231731687303715884105728";
  json bad = f.call("SplitShard", {{"StreamName", "s"}, {"ShardToSplit", "shardId-000000000000"},
                                   {"NewStartingHashKey", "1"}});
  CHECK(bad["error"] == "InvalidArgumentException");
  REQUIRE_FALSE(f.call("SplitShard", {{"StreamName", "s"}, {"ShardToSplit", "shardId-000000000000"},
                                      {"NewStartingHashKey", mid}})
                    .contains("error"));
  json low = put_at("after-low", "1");
  json high = put_at("after-high", "300000000000000000000000000000000000000");
  CHECK(low["ShardId"] == "shardId-000000000001");
  CHECK(high["ShardId"] == "shardId-000000000002");

  // The parent is closed and read to its end: no next iterator, its children named.
  std::string it = f.iterator("s", "shardId-000000000000", {{"ShardIteratorType", "TRIM_HORIZON"}});
  json r = f.call("GetRecords", {{"ShardIterator", it}});
  CHECK(r["Records"].size() == 2);
  CHECK_FALSE(r.contains("NextShardIterator"));
  REQUIRE(r["ChildShards"].size() == 2);
  CHECK(r["ChildShards"][0]["ParentShards"] == json::array({"shardId-000000000000"}));
  CHECK(f.read_all("s", "shardId-000000000001") == std::vector<std::string>{"after-low"});

  // Sequence numbers of the children are above the parent's.
  std::string parent_last = f.call("DescribeStream", {{"StreamName", "s"}})["StreamDescription"]["Shards"][0]
                                  ["SequenceNumberRange"]["EndingSequenceNumber"];
  CHECK(low["SequenceNumber"].get<std::string>() > parent_last);

  // Merge the children back: one child with both as parents.
  json m = f.call("MergeShards", {{"StreamName", "s"}, {"ShardToMerge", "shardId-000000000002"},
                                  {"AdjacentShardToMerge", "shardId-000000000001"}});
  REQUIRE_FALSE(m.contains("error"));
  json shards = f.call("ListShards", {{"StreamName", "s"}, {"ShardFilter", {{"Type", "AT_LATEST"}}}})["Shards"];
  REQUIRE(shards.size() == 1);
  CHECK(shards[0]["ParentShardId"] == "shardId-000000000002");
  CHECK(shards[0]["AdjacentParentShardId"] == "shardId-000000000001");
  CHECK(shards[0]["HashKeyRange"]["StartingHashKey"] == "0");
  CHECK(shards[0]["HashKeyRange"]["EndingHashKey"] == "340282366920938463463374607431768211455");
  json not_adjacent = f.call("MergeShards", {{"StreamName", "s"}, {"ShardToMerge", "shardId-000000000001"},
                                             {"AdjacentShardToMerge", "shardId-000000000003"}});
  CHECK(not_adjacent["error"] == "InvalidArgumentException");
}

TEST_CASE("kinesis: UpdateShardCount reaches a uniform layout with at most two parents each", "[kinesis]") {
  KinesisFixture f;
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 3}});
  for (int target : {5, 4, 2, 3}) {
    json r = f.call("UpdateShardCount", {{"StreamName", "s"}, {"TargetShardCount", target},
                                         {"ScalingType", "UNIFORM_SCALING"}});
    INFO(r.dump());
    REQUIRE(r["TargetShardCount"] == target);
    json open = f.call("ListShards", {{"StreamName", "s"}, {"ShardFilter", {{"Type", "AT_LATEST"}}}})["Shards"];
    REQUIRE(open.size() == static_cast<size_t>(target));
    CHECK(open[0]["HashKeyRange"]["StartingHashKey"] == "0");
  }
  CHECK(f.call("UpdateShardCount", {{"StreamName", "s"}, {"TargetShardCount", 7},
                                    {"ScalingType", "UNIFORM_SCALING"}})["error"] == "InvalidArgumentException");
  CHECK(f.call("UpdateShardCount", {{"StreamName", "s"}, {"TargetShardCount", 1},
                                    {"ScalingType", "UNIFORM_SCALING"}})["error"] == "InvalidArgumentException");
}

TEST_CASE("kinesis: the in-process reading API and commit notifications", "[kinesis]") {
  KinesisFixture f;
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 1}});
  std::vector<kinesis::CommitEvent> events;
  std::mutex mu;
  uint64_t id = f.provider().add_commit_listener([&](const kinesis::CommitEvent& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  });
  f.put("s", "one", "k");
  f.call("PutRecords", {{"StreamName", "s"},
                        {"Records", {{{"Data", enc::base64_encode("two")}, {"PartitionKey", "k"}},
                                     {{"Data", enc::base64_encode("three")}, {"PartitionKey", "k"}}}}});
  REQUIRE(events.size() == 2);
  CHECK(events[0].shard_id == "shardId-000000000000");
  CHECK(events[1].records == 2);
  CHECK(events[1].stream_arn == "arn:aws:kinesis:us-east-1:000000000000:stream/s");

  auto shards = f.provider().list_shards("000000000000", "us-east-1", "s");
  REQUIRE(shards.ok());
  REQUIRE(shards.value().size() == 1);

  auto batch = f.provider().read_shard("000000000000", "us-east-1", "s", "shardId-000000000000",
                                       position_from(kinesis::ReadFrom::kTrimHorizon), 2);
  REQUIRE(batch.ok());
  REQUIRE(batch.value().records.size() == 2);
  CHECK(batch.value().records[0].data == "one");
  CHECK(batch.value().millis_behind_latest >= 0);
  CHECK(events[1].last_sequence_number > batch.value().records[1].sequence_number);
  auto rest = f.provider().read_shard("000000000000", "us-east-1", "arn:aws:kinesis:us-east-1:000000000000:stream/s",
                                      "shardId-000000000000", batch.value().next, 10);
  REQUIRE(rest.ok());
  REQUIRE(rest.value().records.size() == 1);
  CHECK(rest.value().records[0].data == "three");
  // Nothing new: the position stays put (and is concrete), then picks up the next record.
  auto none = f.provider().read_shard("000000000000", "us-east-1", "s", "shardId-000000000000",
                                      rest.value().next, 10);
  REQUIRE(none.ok());
  CHECK(none.value().records.empty());
  f.put("s", "four", "k");
  auto four = f.provider().read_shard("000000000000", "us-east-1", "s", "shardId-000000000000",
                                      none.value().next, 10);
  REQUIRE(four.ok());
  REQUIRE(four.value().records.size() == 1);
  CHECK(four.value().records[0].data == "four");

  f.provider().remove_commit_listener(id);
  f.put("s", "five", "k");
  CHECK(events.size() == 3);
  CHECK_FALSE(f.provider().read_shard("000000000000", "us-east-1", "nope", "shardId-000000000000",
                                      position_from(kinesis::ReadFrom::kLatest), 1).ok());
}

TEST_CASE("kinesis: records up to 1 MiB, PutRecords limits and bad keys", "[kinesis]") {
  KinesisFixture f;
  f.call("CreateStream", {{"StreamName", "s"}, {"ShardCount", 1}});
  CHECK(f.put("s", std::string(1024 * 1024, 'x'), "k").contains("SequenceNumber"));
  CHECK(f.put("s", std::string(1024 * 1024 + 1, 'x'), "k")["error"] == "ValidationException");
  json big = json::array();
  for (int i = 0; i < 6; ++i) big.push_back({{"Data", enc::base64_encode(std::string(1000 * 1000, 'y'))}, {"PartitionKey", "k"}});
  CHECK(f.call("PutRecords", {{"StreamName", "s"}, {"Records", big}})["error"] == "InvalidArgumentException");
  json many = json::array();
  for (int i = 0; i < 501; ++i) many.push_back({{"Data", "eA=="}, {"PartitionKey", "k"}});
  CHECK(f.call("PutRecords", {{"StreamName", "s"}, {"Records", many}})["error"] == "ValidationException");
  many.erase(many.begin());
  json ok = f.call("PutRecords", {{"StreamName", "s"}, {"Records", many}});
  CHECK(ok["FailedRecordCount"] == 0);
  CHECK(ok["Records"].size() == 500);
  json bad_key = f.call("PutRecord", {{"StreamName", "s"}, {"Data", "eA=="}, {"PartitionKey", "k"},
                                      {"ExplicitHashKey", "340282366920938463463374607431768211456"}});
  CHECK(bad_key["error"] == "InvalidArgumentException");
}
