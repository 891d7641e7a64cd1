#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/scheduler.h"
#include "services/logs/logs.h"
#include "services/registry.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "unit/support/manual_scheduler.h"

using namespace sless;
using namespace sless::services;
using nlohmann::json;

namespace {

using sless::testing::ManualScheduler;

// One Logs service on a store in `dir` (a durable one, so that a second fixture on the same
// directory is a restart).
struct Daemon {
  std::unique_ptr<storage::Store> store;
  ManualScheduler scheduler;
  ManualClock clock;
  Config config;
  Registry registry;
  Env env;
  logs::LogsService& logs;

  explicit Daemon(const std::string& dir) : logs(*registry.get<logs::LogsService>("logs")) {
    storage::Options o;
    o.dir = dir;
    store = std::move(storage::Store::open(o)).value();
    env.store = store.get();
    env.scheduler = &scheduler;
    env.clock = &clock;
    env.config = &config;
    env.registry = &registry;
    REQUIRE(logs.start(env).is_ok());
  }
  ~Daemon() {
    if (!killed) logs.stop();
  }
  bool killed = false;  // true: ends as a kill -9 would (no stop(); what was written stays)

  // What an invocation's end does, then the write's timer firing.
  void write_queued() {
    logs.write_queued();
    scheduler.run_pending();
  }

  Outcome<protocol::OperationOutput> call(const char* op, json params) {
    std::optional<Outcome<protocol::OperationOutput>> out;
    RequestContext ctx;
    ctx.account = "000000000000";
    ctx.region = "us-east-1";
    ctx.now_ms = clock.now_ms();
    ctx.request_id = "req";
    registry.call("logs", op, std::move(params), ctx, [&](Outcome<protocol::OperationOutput> o) { out = std::move(o); });
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  json messages(const std::string& group, const std::string& stream) {
    auto out = call("GetLogEvents", {{"logGroupName", group}, {"logStreamName", stream}, {"startFromHead", true}});
    REQUIRE(out.ok());
    json m = json::array();
    for (const auto& e : out.value().result["events"]) m.push_back(e["message"]);
    return m;
  }

  json stream_info(const std::string& group) {
    auto out = call("DescribeLogStreams", {{"logGroupName", group}});
    REQUIRE(out.ok());
    return out.value().result["logStreams"];
  }
};

// The entries under a stream's events in the store (a run of lines is one).
size_t stored_entries(Daemon& d, const std::string& group, const std::string& stream) {
  std::string prefix = storage::key::KeyBuilder("000000000000", "us-east-1").str("e").str(group).str(stream).take();
  auto it = d.store->iterate(d.store->family("logs"), prefix, storage::key::prefix_end(prefix));
  size_t n = 0;
  for (it->seek(prefix); it->valid(); it->next()) ++n;
  return n;
}

// Every message of GetLogEvents pages of `limit` events, following the tokens until one comes back
// unchanged; `from_head` false reads from the tail backwards (the messages come back in time order).
std::vector<std::string> paged(Daemon& d, json params, int limit, bool from_head) {
  params["limit"] = limit;
  params["startFromHead"] = from_head;
  std::vector<std::vector<std::string>> pages;
  std::string token;
  for (int round = 0; round < 100; ++round) {
    if (!token.empty()) params["nextToken"] = token;
    auto out = d.call("GetLogEvents", params);
    REQUIRE(out.ok());
    const json& r = out.value().result;
    REQUIRE(r["events"].size() <= static_cast<size_t>(limit));
    std::vector<std::string> page;
    for (const auto& e : r["events"]) page.push_back(e["message"]);
    std::string next = r[from_head ? "nextForwardToken" : "nextBackwardToken"];
    if (next == token) {
      CHECK(page.empty());
      break;
    }
    pages.push_back(std::move(page));
    token = next;
  }
  if (!from_head) std::reverse(pages.begin(), pages.end());
  std::vector<std::string> all;
  for (auto& page : pages) all.insert(all.end(), page.begin(), page.end());
  return all;
}

std::string temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("sless-logs-test-" + ids::random_hex(8));
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

TEST_CASE("queued lines are visible to reads before any writer ran", "[logs]") {
  std::string dir = temp_dir();
  {
    Daemon d(dir);
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1", {{1000, "START"}, {1001, "END"}});
    // No write_queued(): the read itself writes what is queued.
    CHECK(d.messages("/aws/lambda/f", "s1") == json({"START", "END"}));
    auto streams = d.stream_info("/aws/lambda/f");
    REQUIRE(streams.size() == 1);
    CHECK(streams[0]["firstEventTimestamp"] == 1000);
    CHECK(streams[0]["lastEventTimestamp"] == 1001);
    CHECK(streams[0]["storedBytes"] == 5 + 26 + 3 + 26);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("lines of many invocations queued from several threads are all written, in order per stream", "[logs]") {
  std::string dir = temp_dir();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  {
    Daemon d(dir);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&d, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::string stream = "s" + std::to_string(t);
          d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", stream,
                         {{1000 + i, "START " + std::to_string(i)}, {1000 + i, "END " + std::to_string(i)}});
          d.write_queued();  // timers run after the threads
        }
      });
    }
    for (auto& th : threads) th.join();
    d.scheduler.run_pending();
    for (int t = 0; t < kThreads; ++t) {
      json m = d.messages("/aws/lambda/f", "s" + std::to_string(t));
      REQUIRE(m.size() == 2 * kPerThread);
      for (int i = 0; i < kPerThread; ++i) {
        CHECK(m[2 * i] == "START " + std::to_string(i));
        CHECK(m[2 * i + 1] == "END " + std::to_string(i));
      }
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("group and stream metadata are rebuilt from the store after a restart", "[logs]") {
  std::string dir = temp_dir();
  json before;
  {
    Daemon d(dir);
    REQUIRE(d.call("CreateLogGroup", {{"logGroupName", "/made/by/hand"}}).ok());
    REQUIRE(d.call("CreateLogStream", {{"logGroupName", "/made/by/hand"}, {"logStreamName", "empty"}}).ok());
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1", {{2000, "one"}});
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s2", {{3000, "two"}});
    d.write_queued();
    before = d.stream_info("/aws/lambda/f");
    REQUIRE(before.size() == 2);
  }  // stop() writes anything still queued
  {
    Daemon d(dir);
    CHECK(d.stream_info("/aws/lambda/f") == before);
    // What exists is known without a read of the store.
    auto again = d.call("CreateLogGroup", {{"logGroupName", "/made/by/hand"}});
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == "ResourceAlreadyExistsException");
    auto stream = d.call("CreateLogStream", {{"logGroupName", "/aws/lambda/f"}, {"logStreamName", "s1"}});
    REQUIRE_FALSE(stream.ok());
    CHECK(stream.error().code == "ResourceAlreadyExistsException");
    REQUIRE(d.call("PutLogEvents", {{"logGroupName", "/made/by/hand"}, {"logStreamName", "empty"},
                                    {"logEvents", {{{"timestamp", d.clock.now_ms()}, {"message", "hi"}}}}})
                .ok());
    // Appending after the restart continues the stream's figures.
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1", {{2500, "three"}});
    d.write_queued();
    auto streams = d.stream_info("/aws/lambda/f");
    REQUIRE(streams.size() == 2);
    CHECK(streams[0]["logStreamName"] == "s1");
    CHECK(streams[0]["firstEventTimestamp"] == 2000);
    CHECK(streams[0]["lastEventTimestamp"] == 2500);
    CHECK(streams[0]["storedBytes"] == 3 + 26 + 5 + 26);
    CHECK(d.messages("/aws/lambda/f", "s1") == json({"one", "three"}));
    // Deleting the group forgets its streams: an append recreates both.
    REQUIRE(d.call("DeleteLogGroup", {{"logGroupName", "/aws/lambda/f"}}).ok());
    CHECK_FALSE(d.call("DescribeLogStreams", {{"logGroupName", "/aws/lambda/f"}}).ok());
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1", {{4000, "four"}});
    d.write_queued();
    auto recreated = d.stream_info("/aws/lambda/f");
    REQUIRE(recreated.size() == 1);
    CHECK(recreated[0]["storedBytes"] == 4 + 26);
    CHECK(d.messages("/aws/lambda/f", "s1") == json({"four"}));
  }
  std::filesystem::remove_all(dir);
}

// A known stream's record is rewritten at most once a second of ingestion, and written before any
// read; after a kill -9 the figures the record missed come back from the events themselves.
TEST_CASE("stream figures are current for reads, and after a kill come from the events", "[logs]") {
  std::string dir = temp_dir();
  const int64_t t0 = 1700000000000;
  {
    Daemon d(dir);
    d.killed = true;
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1", {{t0 - 500, "first"}});
    d.write_queued();
    d.clock.advance_ms(200);
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1", {{t0 - 100, "second"}});
    d.write_queued();
  }  // killed: the second batch's events are written, the stream's record may not be
  {
    Daemon d(dir);
    d.killed = true;
    auto streams = d.stream_info("/aws/lambda/f");
    REQUIRE(streams.size() == 1);
    CHECK(streams[0]["firstEventTimestamp"] == t0 - 500);
    CHECK(streams[0]["lastEventTimestamp"] == t0 - 100);
    CHECK(streams[0]["lastIngestionTime"] == t0 + 200);
    CHECK(streams[0]["storedBytes"] == 5 + 26 + 6 + 26);
    CHECK(d.messages("/aws/lambda/f", "s1") == json({"first", "second"}));
    // Within the second, appends leave the record behind; a read still sees every figure.
    d.clock.set_ms(t0 + 300);
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1", {{t0 - 50, "third"}});
    d.write_queued();
    streams = d.stream_info("/aws/lambda/f");
    CHECK(streams[0]["lastEventTimestamp"] == t0 - 50);
    CHECK(streams[0]["lastIngestionTime"] == t0 + 300);
    CHECK(streams[0]["storedBytes"] == 5 + 26 + 6 + 26 + 5 + 26);
  }
  {
    Daemon d(dir);  // the read above wrote the record: nothing to correct
    auto streams = d.stream_info("/aws/lambda/f");
    REQUIRE(streams.size() == 1);
    CHECK(streams[0]["lastEventTimestamp"] == t0 - 50);
    CHECK(streams[0]["storedBytes"] == 5 + 26 + 6 + 26 + 5 + 26);
  }
  std::filesystem::remove_all(dir);
}

// One invocation's lines (in time order, within a second, after the stream's last event) are one
// entry in the store; every read still sees them one by one, and pages and time bounds may fall
// inside an entry.
TEST_CASE("an invocation's lines are stored as one entry and read back line by line", "[logs]") {
  std::string dir = temp_dir();
  const int64_t t = 1700000000000;
  const std::string g = "/aws/lambda/f";
  {
    Daemon d(dir);
    d.clock.set_ms(t + 5000);
    auto run = [&](std::vector<logs::Event> events) {
      d.logs.enqueue("000000000000", "us-east-1", g, "s1", std::move(events), /*run=*/true);
      d.write_queued();
    };
    run({{t, "START"}, {t + 1, "a"}, {t + 1, "b"}, {t + 2, "END"}, {t + 3, "REPORT"}});
    REQUIRE(stored_entries(d, g, "s1") == 1);
    run({{t + 5, "late"}});                              // one line: a plain entry
    run({{t + 10, "S2"}, {t + 11, "x"}, {t + 12, "E2"}});  // a second run
    REQUIRE(d.call("PutLogEvents", {{"logGroupName", g}, {"logStreamName", "s1"},
                                    {"logEvents", {{{"timestamp", t + 20}, {"message", "put"}}}}})
                .ok());
    run({{t + 30, "long1"}, {t + 1530, "long2"}});  // spans more than a second: two entries
    run({{t + 25, "old1"}, {t + 1600, "old2"}});     // starts before the stream's last event: two entries
    CHECK(stored_entries(d, g, "s1") == 1 + 1 + 1 + 1 + 2 + 2);

    const std::vector<std::string> all = {"START", "a", "b", "END", "REPORT", "late", "S2", "x", "E2",
                                          "put", "old1", "long1", "long2", "old2"};
    json params{{"logGroupName", g}, {"logStreamName", "s1"}};
    CHECK(d.messages(g, "s1") == json(all));
    for (int limit : {1, 2, 3, 4, 100}) {
      INFO("limit " << limit);
      CHECK(paged(d, params, limit, true) == all);
      CHECK(paged(d, params, limit, false) == all);
    }
    // Time bounds inside runs: startTime inclusive, endTime exclusive.
    json window = params;
    window["startTime"] = t + 1;
    window["endTime"] = t + 12;
    const std::vector<std::string> inside = {"a", "b", "END", "REPORT", "late", "S2", "x"};
    for (int limit : {1, 2, 100}) {
      CHECK(paged(d, window, limit, true) == inside);
      CHECK(paged(d, window, limit, false) == inside);
    }
    // FilterLogEvents: both bounds inclusive, one id per line.
    auto filtered = d.call("FilterLogEvents", {{"logGroupName", g}, {"startTime", t + 2}, {"endTime", t + 11}});
    REQUIRE(filtered.ok());
    std::vector<std::string> messages;
    std::set<std::string> ids;
    for (const auto& e : filtered.value().result["events"]) {
      messages.push_back(e["message"]);
      ids.insert(e["eventId"].get<std::string>());
      CHECK(e["logStreamName"] == "s1");
      CHECK(e["ingestionTime"] == t + 5000);
    }
    CHECK(messages == std::vector<std::string>{"END", "REPORT", "late", "S2", "x"});
    CHECK(ids.size() == messages.size());
    auto matched = d.call("FilterLogEvents", {{"logGroupName", g}, {"filterPattern", "\"E2\""}});
    REQUIRE(matched.ok());
    REQUIRE(matched.value().result["events"].size() == 1);
    CHECK(matched.value().result["events"][0]["timestamp"] == t + 12);

    auto streams = d.stream_info(g);
    REQUIRE(streams.size() == 1);
    CHECK(streams[0]["firstEventTimestamp"] == t);
    CHECK(streams[0]["lastEventTimestamp"] == t + 1600);
    int64_t bytes = 0;
    for (const auto& m : all) bytes += static_cast<int64_t>(m.size()) + 26;
    CHECK(streams[0]["storedBytes"] == bytes);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("after a kill, a stream's figures come back from the runs it holds", "[logs]") {
  std::string dir = temp_dir();
  const int64_t t = 1700000000000;
  {
    Daemon d(dir);
    d.killed = true;
    d.clock.set_ms(t);
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1", {{t - 900, "START"}, {t - 800, "END"}}, true);
    d.write_queued();  // a new stream: its record goes with these lines
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "s1",
                   {{t - 500, "START"}, {t - 400, "hello"}, {t - 100, "END"}}, true);
    d.write_queued();  // within the second: the record stays behind
    REQUIRE(stored_entries(d, "/aws/lambda/f", "s1") == 2);
  }
  {
    Daemon d(dir);
    auto streams = d.stream_info("/aws/lambda/f");
    REQUIRE(streams.size() == 1);
    CHECK(streams[0]["firstEventTimestamp"] == t - 900);
    CHECK(streams[0]["lastEventTimestamp"] == t - 100);  // the last line of the last run
    CHECK(streams[0]["storedBytes"] == (5 + 26) + (3 + 26) + (5 + 26) + (5 + 26) + (3 + 26));
    CHECK(d.messages("/aws/lambda/f", "s1") == json({"START", "END", "START", "hello", "END"}));
  }
  std::filesystem::remove_all(dir);
}

// A few invocations' lines wait a moment (a timer) for more before they are written; a full batch
// is written at once. Reads write what waits first.
TEST_CASE("queued lines wait for the timer or a full batch", "[logs]") {
  std::string dir = temp_dir();
  {
    Daemon d(dir);
    d.killed = true;
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "few", {{1000, "waits"}});
    d.logs.write_queued();
  }  // killed before the timer fired: the lines were not written yet
  {
    Daemon d(dir);
    d.killed = true;
    CHECK_FALSE(d.call("DescribeLogStreams", {{"logGroupName", "/aws/lambda/f"}}).ok());  // no group either
    for (size_t i = 0; i < logs::LogsService::kWriteNowQueued; ++i) {
      d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "many", {{1000 + static_cast<int64_t>(i), "line"}});
    }
    d.logs.write_queued();  // a full batch: written now, no timer needed
    d.logs.enqueue("000000000000", "us-east-1", "/aws/lambda/f", "later", {{5000, "timed"}});
    d.logs.write_queued();
    d.scheduler.run_pending();  // the timer fires
  }
  {
    Daemon d(dir);
    CHECK(d.messages("/aws/lambda/f", "many").size() == logs::LogsService::kWriteNowQueued);
    CHECK(d.messages("/aws/lambda/f", "later") == json({"timed"}));
  }
  std::filesystem::remove_all(dir);
}

// Under load a batch holds several invocations of each worker: those of one stream that follow
// each other in time within a second are stored as one run, and read back as before.
TEST_CASE("invocations of one stream written in one batch share a run", "[logs]") {
  std::string dir = temp_dir();
  const int64_t t = 1700000000000;
  const std::string g = "/aws/lambda/f";
  {
    Daemon d(dir);
    d.clock.set_ms(t + 5000);
    auto queue = [&](const std::string& stream, std::vector<logs::Event> events) {
      d.logs.enqueue("000000000000", "us-east-1", g, stream, std::move(events), /*run=*/true);
    };
    // Two streams interleaved, as two workers' invocations end; then one batch.
    queue("a", {{t, "START 1"}, {t + 1, "END 1"}});
    queue("b", {{t, "START x"}, {t + 2, "END x"}});
    queue("a", {{t + 3, "START 2"}, {t + 3, "hello"}, {t + 4, "END 2"}});
    queue("b", {{t + 5, "START y"}, {t + 6, "END y"}});
    queue("a", {{t + 7, "START 3"}, {t + 8, "END 3"}});
    d.write_queued();
    CHECK(stored_entries(d, g, "a") == 1);
    CHECK(stored_entries(d, g, "b") == 1);
    CHECK(d.messages(g, "a") == json({"START 1", "END 1", "START 2", "hello", "END 2", "START 3", "END 3"}));
    CHECK(d.messages(g, "b") == json({"START x", "END x", "START y", "END y"}));
    json params{{"logGroupName", g}, {"logStreamName", "a"}};
    const std::vector<std::string> all = {"START 1", "END 1", "START 2", "hello", "END 2", "START 3", "END 3"};
    for (int limit : {1, 2, 3, 100}) {
      INFO("limit " << limit);
      CHECK(paged(d, params, limit, true) == all);
      CHECK(paged(d, params, limit, false) == all);
    }
    auto filtered = d.call("FilterLogEvents", {{"logGroupName", g}, {"logStreamNames", {"a"}}, {"filterPattern", "hello"}});
    REQUIRE(filtered.ok());
    REQUIRE(filtered.value().result["events"].size() == 1);
    CHECK(filtered.value().result["events"][0]["timestamp"] == t + 3);

    // Together they would span more than a second (or go back in time): each invocation on its own.
    queue("a", {{t + 10, "START 4"}, {t + 11, "END 4"}});
    queue("a", {{t + 1200, "START 5"}, {t + 1201, "END 5"}});
    queue("b", {{t + 20, "START z"}, {t + 21, "END z"}});
    queue("b", {{t + 15, "START w"}, {t + 16, "END w"}});
    d.write_queued();
    CHECK(stored_entries(d, g, "a") == 1 + 2);
    CHECK(stored_entries(d, g, "b") == 1 + 1 + 2);  // the run that goes back in time is two entries
    CHECK(d.messages(g, "a") == json({"START 1", "END 1", "START 2", "hello", "END 2", "START 3", "END 3", "START 4",
                                      "END 4", "START 5", "END 5"}));
    CHECK(d.messages(g, "b") == json({"START x", "END x", "START y", "END y", "START w", "END w", "START z", "END z"}));
    auto streams = d.stream_info(g);
    REQUIRE(streams.size() == 2);
    CHECK(streams[0]["firstEventTimestamp"] == t);
    CHECK(streams[0]["lastEventTimestamp"] == t + 1201);
  }
  std::filesystem::remove_all(dir);
}
