// The SQS provider's in-process API on a real store (in memory or on disk), a manual clock and a
// scheduler that runs nothing by itself: batch deletes by receipt handle (what the function
// host's queue event source uses), their per-handle answers, and what survives a restart.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/scheduler.h"
#include "protocol/model.h"
#include "services/sqs/provider.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "unit/support/temp_dir.h"
#include "unit/support/provider_harness.h"

using namespace sless;
using namespace sless::services;
using sqs::SqsProvider;

namespace {

namespace fs = std::filesystem;

// A data directory of its own, removed at the end.
using sless::testing::TempDir;

class SqsProviderFixture : public sless::testing::ProviderHarness<SqsProvider> {
 public:
  using ProviderHarness::ProviderHarness;

  // Creates a queue through the API (attributes as the params tree has them); returns its ARN.
  std::string create_queue(const std::string& name, nlohmann::json attributes = nlohmann::json::object()) {
    nlohmann::json params = {{"QueueName", name}};
    if (!attributes.empty()) params["Attributes"] = attributes;
    bool answered = false;
    Invocation inv;
    inv.ctx.account = "000000000000";
    inv.ctx.region = "us-east-1";
    inv.ctx.service = "sqs";
    inv.ctx.operation = "CreateQueue";
    inv.ctx.endpoint = "http://localhost";
    inv.op = protocol::ModelRegistry::instance().get("sqs")->find_operation("CreateQueue");
    REQUIRE(inv.op);
    inv.params = std::move(params);
    inv.done = [&](Outcome<protocol::OperationOutput> out) {
      INFO((out.ok() ? std::string() : out.error().message));
      REQUIRE(out.ok());
      answered = true;
    };
    provider_->invoke(std::move(inv));
    REQUIRE(answered);
    return "arn:aws:sqs:us-east-1:000000000000:" + name;
  }

  void send(const std::string& arn, const std::string& body, const std::string& group = {}) {
    sqs::SendInput in;
    in.body = body;
    in.group_id = group;
    in.sender_id = "000000000000";
    auto r = provider_->send(arn, std::move(in));
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
  }

  std::vector<sqs::Delivered> receive(const std::string& arn, int max, int visibility = 30) {
    std::vector<sqs::Delivered> got;
    sqs::ReceiveOptions opts;
    opts.max = max;
    opts.visibility_seconds = visibility;
    REQUIRE(provider_->receive(arn, opts, 0, [&](std::vector<sqs::Delivered> d) { got = std::move(d); }).ok());
    return got;
  }

  // How many records of one kind ("m" messages, "j" receive journal, ...) the store holds.
  size_t records(const std::string& kind) {
    std::string begin = storage::key::KeyBuilder("000000000000", "us-east-1").str(kind).take();
    auto it = store_->iterate(store_->family("sqs"), begin, storage::key::prefix_end(begin));
    size_t n = 0;
    for (it->seek_to_first(); it->valid(); it->next()) ++n;
    return n;
  }

};

std::set<std::string> delivered_bodies(const std::vector<sqs::Delivered>& got) {
  std::set<std::string> out;
  for (const auto& d : got) out.insert(d.message.body);
  return out;
}

std::vector<std::string_view> receipts_of(const std::vector<sqs::Delivered>& got) {
  std::vector<std::string_view> out;
  for (const auto& d : got) out.push_back(d.receipt);
  return out;
}

}  // namespace

TEST_CASE("sqs: delete_messages removes a received batch and answers per handle", "[sqs]") {
  SqsProviderFixture f;
  std::string arn = f.create_queue("batch");
  for (int i = 0; i < 5; ++i) f.send(arn, "m" + std::to_string(i));
  auto got = f.receive(arn, 5, /*visibility=*/10);
  REQUIRE(got.size() == 5);

  auto results = f.provider().delete_messages(arn, receipts_of(got));
  REQUIRE(results.size() == 5);
  for (const auto& r : results) CHECK(r.ok());

  // Gone for good: not back once the visibility timeout has passed.
  f.clock().advance_ms(11'000);
  CHECK(f.receive(arn, 10).empty());
  // Deleting again is a no-op that succeeds, as DeleteMessage does for handles already used.
  for (const auto& r : f.provider().delete_messages(arn, receipts_of(got))) CHECK(r.ok());
}

TEST_CASE("sqs: delete_messages keeps messages whose handles are stale, foreign or malformed", "[sqs]") {
  SqsProviderFixture f;
  std::string arn = f.create_queue("mixed");
  std::string other = f.create_queue("other");
  f.send(arn, "a");
  f.send(arn, "b");
  f.send(other, "x");

  auto first = f.receive(arn, 2, /*visibility=*/0);  // visible again at once: the next receive renews them
  REQUIRE(first.size() == 2);
  auto second = f.receive(arn, 2, /*visibility=*/30);
  REQUIRE(second.size() == 2);
  auto foreign = f.receive(other, 1, /*visibility=*/0);
  REQUIRE(foreign.size() == 1);

  // Stale handles (from the first receive), one of the other queue, garbage, and one current one.
  std::string current_a;
  for (const auto& d : second) {
    if (d.message.body == "a") current_a = d.receipt;
  }
  REQUIRE_FALSE(current_a.empty());
  std::vector<std::string_view> handles = receipts_of(first);
  handles.push_back(foreign[0].receipt);
  handles.push_back("not-a-receipt");
  handles.push_back(current_a);
  auto results = f.provider().delete_messages(arn, handles);
  REQUIRE(results.size() == 5);
  CHECK(results[0].ok());  // stale on a standard queue: succeeds, deletes nothing
  CHECK(results[1].ok());
  REQUIRE_FALSE(results[2].ok());
  CHECK(results[2].error().code == "ReceiptHandleIsInvalid");
  REQUIRE_FALSE(results[3].ok());
  CHECK(results[3].error().code == "ReceiptHandleIsInvalid");
  CHECK(results[4].ok());

  // "b" (only stale handles named it) comes back after its timeout; "a" is gone; "x" stays.
  f.clock().advance_ms(31'000);
  CHECK(delivered_bodies(f.receive(arn, 10)) == std::set<std::string>{"b"});
  CHECK(delivered_bodies(f.receive(other, 10)) == std::set<std::string>{"x"});
}

TEST_CASE("sqs: delete_messages on a FIFO queue refuses expired handles and unblocks the group", "[sqs]") {
  SqsProviderFixture f;
  std::string arn = f.create_queue("orders.fifo", {{"FifoQueue", "true"}, {"ContentBasedDeduplication", "true"}});
  f.send(arn, "1", "g");
  f.send(arn, "2", "g");
  f.send(arn, "3", "g");
  auto stale = f.receive(arn, 1, /*visibility=*/0);
  REQUIRE(delivered_bodies(stale) == std::set<std::string>{"1"});
  auto got = f.receive(arn, 2, /*visibility=*/30);
  REQUIRE(got.size() == 2);
  CHECK(got[0].message.body == "1");
  CHECK(got[1].message.body == "2");

  std::vector<std::string_view> handles = receipts_of(got);
  handles.insert(handles.begin(), stale[0].receipt);
  auto results = f.provider().delete_messages(arn, handles);
  REQUIRE(results.size() == 3);
  REQUIRE_FALSE(results[0].ok());
  CHECK(results[0].error().code == "InvalidParameterValue");
  CHECK(results[1].ok());
  CHECK(results[2].ok());
  // The group is free again: "3" is next, at once.
  CHECK(delivered_bodies(f.receive(arn, 10)) == std::set<std::string>{"3"});
}

TEST_CASE("sqs: delete_messages on a missing queue answers QueueDoesNotExist per handle", "[sqs]") {
  SqsProviderFixture f;
  auto results = f.provider().delete_messages("arn:aws:sqs:us-east-1:000000000000:nope", {"a", "b"});
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "QueueDoesNotExist");
  }
}

TEST_CASE("sqs: a batch delete is durable and leaves the rest of the queue intact across a restart", "[sqs]") {
  TempDir dir;
  {
    SqsProviderFixture f(dir.str());
    std::string arn = f.create_queue("durable");
    for (int i = 0; i < 6; ++i) f.send(arn, "m" + std::to_string(i));
    auto got = f.receive(arn, 4, /*visibility=*/5);
    REQUIRE(got.size() == 4);
    std::vector<std::string_view> handles = receipts_of(got);
    handles.resize(3);
    for (const auto& r : f.provider().delete_messages(arn, handles)) CHECK(r.ok());
    std::set<std::string> kept = {"m0", "m1", "m2", "m3", "m4", "m5"};
    for (size_t i = 0; i < 3; ++i) kept.erase(got[i].message.body);

    f.reopen();
    f.clock().advance_ms(6'000);  // the fourth message's timeout has passed
    CHECK(delivered_bodies(f.receive(arn, 10)) == kept);
  }
}

TEST_CASE("sqs: receive state of small and large messages survives a restart, and deletes stay deleted", "[sqs]") {
  TempDir dir;
  {
    SqsProviderFixture f(dir.str());
    std::string arn = f.create_queue("states");
    const std::string large(20000, 'L');  // its state goes to a record of its own
    f.send(arn, "small");
    f.send(arn, large);
    f.send(arn, "small-deleted");
    f.send(arn, std::string(20000, 'D'));  // large, deleted
    for (int round = 0; round < 2; ++round) {
      auto got = f.receive(arn, 10, /*visibility=*/5);
      REQUIRE(got.size() == 4);
      f.clock().advance_ms(6'000);
    }
    auto got = f.receive(arn, 10, /*visibility=*/5);
    REQUIRE(got.size() == 4);
    std::vector<std::string_view> doomed;
    for (const auto& d : got) {
      CHECK(d.message.receive_count == 3);
      if (d.message.body == "small-deleted" || d.message.body[0] == 'D') doomed.push_back(d.receipt);
    }
    for (const auto& r : f.provider().delete_messages(arn, doomed)) CHECK(r.ok());

    f.reopen();
    // Still in flight after the restart: the visibility timeout was stored with the receive.
    CHECK(f.receive(arn, 10).empty());
    f.clock().advance_ms(6'000);
    auto after = f.receive(arn, 10);
    REQUIRE(after.size() == 2);
    for (const auto& d : after) {
      CHECK((d.message.body == "small" || d.message.body == large));
      CHECK(d.message.receive_count == 4);
    }
  }
}

TEST_CASE("sqs: receive journal records are dropped once no message needs them, and replayed at start",
          "[sqs]") {
  TempDir dir;
  SqsProviderFixture f(dir.str());
  std::string arn = f.create_queue("journal");
  for (int i = 0; i < 4; ++i) f.send(arn, "m" + std::to_string(i));
  CHECK(f.records("j") == 0);

  // One receive: one journal record for its four messages, whatever their number.
  auto first = f.receive(arn, 4, /*visibility=*/0);
  REQUIRE(first.size() == 4);
  CHECK(f.records("j") == 1);
  // Receiving them again moves them all to a new record: the old one goes.
  auto second = f.receive(arn, 2, /*visibility=*/60);
  REQUIRE(second.size() == 2);
  CHECK(f.records("j") == 2);
  auto third = f.receive(arn, 2, /*visibility=*/60);
  REQUIRE(third.size() == 2);
  CHECK(f.records("j") == 2);
  // A visibility change is journalled too; the receive's record stays for the other message.
  REQUIRE(f.provider().change_visibility(arn, second[0].receipt, 0).ok());
  CHECK(f.records("j") == 3);
  // Deleting every message of a record deletes the record.
  for (const auto& r : f.provider().delete_messages(arn, receipts_of(third))) CHECK(r.ok());
  CHECK(f.records("j") == 2);
  CHECK(f.records("m") == 2);

  // At start the journal is replayed: second[1] is still in flight (60 s), second[0] visible.
  f.reopen();
  auto after = f.receive(arn, 10, /*visibility=*/60);
  REQUIRE(after.size() == 1);
  CHECK(after[0].message.body == second[0].message.body);
  CHECK(after[0].message.receive_count == 3);
  f.clock().advance_ms(61'000);
  auto later = f.receive(arn, 10, /*visibility=*/60);
  REQUIRE(later.size() == 2);
  for (const auto& d : later) CHECK(d.message.receive_count == (d.message.body == second[0].message.body ? 4 : 3));
  CHECK(f.records("j") == 1);
}
