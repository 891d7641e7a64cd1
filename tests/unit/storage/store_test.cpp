#include "storage/store.h"
#include "unit/support/temp_dir.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace sless::storage {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed with everything in it.
using sless::testing::TempDir;

Options store_on_disk(const fs::path& dir) {
  Options o;
  o.dir = dir.string();
  return o;
}

Options store_in_memory() {
  Options o;
  o.in_memory = true;
  return o;
}

std::unique_ptr<Store> open_store(const fs::path& dir) {
  auto store = Store::open(store_on_disk(dir));
  INFO(store.status().to_string());
  REQUIRE(store.ok());
  return std::move(store).value();
}

std::unique_ptr<Store> open_memory() {
  auto store = Store::open(store_in_memory());
  REQUIRE(store.ok());
  return std::move(store).value();
}

std::string get(const Store& store, Family* family, std::string_view key) {
  std::string value;
  const Status s = store.get(family, key, &value);
  return s.is_ok() ? value : "<" + s.to_string() + ">";
}

// The keys an iterator yields walking forward from seek_to_first, or backward from seek_to_last.
std::vector<std::string> keys_of(Iterator& it, bool backward = false) {
  std::vector<std::string> keys;
  for (backward ? it.seek_to_last() : it.seek_to_first(); it.valid(); backward ? it.prev() : it.next()) {
    keys.emplace_back(it.key());
  }
  REQUIRE(it.status().is_ok());
  return keys;
}

using Keys = std::vector<std::string>;

}  // namespace

TEST_CASE("put, get and del", "[storage][store]") {
  TempDir dir;
  auto store = open_store(dir.path());
  CHECK_FALSE(store->in_memory());
  Family* sqs = store->family("sqs");
  REQUIRE(sqs != nullptr);
  CHECK(store->family("sqs") == sqs);
  CHECK(store->family("default") != nullptr);

  std::string value;
  CHECK(store->get(sqs, "k", &value).is_not_found());
  REQUIRE(store->put(sqs, "k", std::string("v\0w", 3)).is_ok());
  CHECK(get(*store, sqs, "k") == std::string("v\0w", 3));
  REQUIRE(store->put(sqs, "k", "v2").is_ok());
  CHECK(get(*store, sqs, "k") == "v2");
  CHECK(store->get(store->family("sns"), "k", &value).is_not_found());  // families are separate
  REQUIRE(store->del(sqs, "k").is_ok());
  CHECK(store->get(sqs, "k", &value).is_not_found());
  CHECK(store->del(sqs, "absent").is_ok());
}

TEST_CASE("iterators respect their bounds both ways", "[storage][store]") {
  auto store = open_memory();
  Family* f = store->family("f");
  Family* other = store->family("other");
  for (const char* key : {"a", "b", "c", "d", "e"}) {
    REQUIRE(store->put(f, key, std::string("value-") + key).is_ok());
    REQUIRE(store->put(other, key, "x").is_ok());
  }
  REQUIRE(store->put(f, "\xFF\xFF", "high").is_ok());

  auto it = store->iterate(f, "b", "d");
  CHECK_FALSE(it->valid());
  CHECK(keys_of(*it) == Keys{"b", "c"});
  CHECK(keys_of(*it, true) == Keys{"c", "b"});
  it->seek_to_first();
  CHECK(it->value() == "value-b");
  it->seek("a");  // below the range: lands on its first key
  CHECK(it->key() == "b");
  it->seek("bb");
  CHECK(it->key() == "c");
  it->seek("d");
  CHECK_FALSE(it->valid());
  it->seek_for_prev("z");  // above the range: lands on its last key
  CHECK(it->key() == "c");
  it->seek_for_prev("bb");
  CHECK(it->key() == "b");
  it->prev();
  CHECK_FALSE(it->valid());

  CHECK(keys_of(*store->iterate(f, "c", "")) == Keys{"c", "d", "e", "\xFF\xFF"});
  CHECK(keys_of(*store->iterate(f, "", "")).size() == 6);
  CHECK(keys_of(*store->iterate(f, "x", "y")).empty());
}

TEST_CASE("a write batch spans families and applies at once", "[storage][store]") {
  auto store = open_memory();
  Family* items = store->family("items");
  Family* index = store->family("index");
  REQUIRE(store->put(items, "old", "1").is_ok());

  WriteBatch batch;
  CHECK(batch.empty());
  batch.put(items, "item", "body");
  batch.put(index, "by-name/item", "item");
  batch.del(items, "old");
  CHECK(batch.count() == 3);
  CHECK(get(*store, items, "item") == "<NotFound>");  // nothing lands before write()
  CHECK(get(*store, items, "old") == "1");

  WriteBatch moved = std::move(batch);
  REQUIRE(store->write(moved).is_ok());
  CHECK(get(*store, items, "item") == "body");
  CHECK(get(*store, index, "by-name/item") == "item");
  CHECK(get(*store, items, "old") == "<NotFound>");

  moved.clear();
  CHECK(moved.empty());
  for (const char* key : {"r1", "r2", "r3"}) {
    moved.put(index, key, "x");
  }
  moved.delete_range(index, "by-name/", "r3");  // removes the old entry and the two new ones before r3
  REQUIRE(store->write(moved).is_ok());
  CHECK(keys_of(*store->iterate(index, "", "")) == Keys{"r3"});
}

TEST_CASE("clear empties one family, small or large", "[storage][store]") {
  auto store = open_memory();
  Family* f = store->family("f");
  Family* kept = store->family("kept");
  REQUIRE(store->put(kept, "k", "v").is_ok());
  REQUIRE(store->clear(f).is_ok());  // already empty

  for (int n : {10, 2500}) {
    WriteBatch batch;
    for (int i = 0; i < n; ++i) {
      batch.put(f, std::to_string(i), "v");
    }
    batch.put(f, "", "empty key");
    batch.put(f, std::string(8, '\xFF'), "highest key");
    REQUIRE(store->write(batch).is_ok());
    REQUIRE(store->clear(f).is_ok());
    CHECK(keys_of(*store->iterate(f, "", "")).empty());
  }
  CHECK(get(*store, kept, "k") == "v");
  REQUIRE(store->put(f, "5", "after").is_ok());  // a range deletion does not hide later writes
  CHECK(get(*store, f, "5") == "after");
}

TEST_CASE("data and families survive closing and reopening", "[storage][store]") {
  TempDir dir;
  const fs::path nested = dir.path() / "a" / "b";
  {
    auto store = open_store(nested);
    REQUIRE(store->put(store->family("lambda"), "fn", "code").is_ok());
    REQUIRE(store->put(store->family("default"), "d", "1").is_ok());
  }
  {
    auto store = open_store(nested);
    CHECK(get(*store, store->family("lambda"), "fn") == "code");
    CHECK(get(*store, store->family("default"), "d") == "1");
    REQUIRE(store->put(store->family("s3"), "obj", "bytes").is_ok());
    REQUIRE(store->flush().is_ok());
  }
  auto store = open_store(nested);
  CHECK(get(*store, store->family("s3"), "obj") == "bytes");
  CHECK_FALSE(fs::exists(nested / "LOG"));  // RocksDB logs through the daemon's log
  CHECK(get(*store, store->family("lambda"), "fn") == "code");
}

// The insert hints change where the memtable starts its search, never what it holds: keys in
// every order under shared prefixes, keys no longer than the suffix, and overwrites all read back
// in byte order, before and after a reopen (from the log) and after a flush (from table files).
TEST_CASE("a family with insert hints holds keys in any order", "[storage][store]") {
  TempDir dir;
  Options o = store_on_disk(dir.path());
  o.families = {"seq"};
  o.ordered_suffix = {{"seq", 2}};
  std::vector<std::string> keys = {"", "a", "ab", "zz"};  // empty, or not longer than the suffix
  for (std::string prefix : {"p", "q", "pp"}) {
    for (char c = 'a'; c <= 'z'; ++c) keys.push_back(prefix + c + c);
  }
  std::vector<std::string> shuffled = keys;
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto check = [&](Store& store) {
    Family* f = store.family("seq");
    auto it = store.iterate(f, "", "\xff");
    CHECK(keys_of(*it) == keys);
    for (const std::string& k : keys) CHECK(get(store, f, k) == "v2:" + k);
  };
  {
    auto opened = Store::open(o);
    REQUIRE(opened.ok());
    auto store = std::move(opened).value();
    Family* f = store->family("seq");
    for (const std::string& k : shuffled) REQUIRE(store->put(f, k, "v1:" + k).is_ok());
    for (auto k = shuffled.rbegin(); k != shuffled.rend(); ++k) REQUIRE(store->put(f, *k, "v2:" + *k).is_ok());
    check(*store);
  }
  {
    auto opened = Store::open(o);
    REQUIRE(opened.ok());
    auto store = std::move(opened).value();
    check(*store);
    REQUIRE(store->flush().is_ok());
    check(*store);
  }
}

// Runs in a process of its own, started by the next test: writes, then dies without closing.
TEST_CASE("killed writer (helper process)", "[.][store-kill-child]") {
  const char* dir = std::getenv("SLESS_STORE_KILL_DIR");
  REQUIRE(dir != nullptr);
  auto store = open_store(dir);
  Family* sqs = store->family("sqs");
  REQUIRE(store->put(sqs, "msg", "kept").is_ok());
  // Held writes reach the OS when the hold ends with a flush, or at flush_log().
  store->hold_log();
  REQUIRE(store->put(sqs, "released", "kept").is_ok());
  store->release_log(true);
  store->hold_log();
  REQUIRE(store->put(sqs, "flushed", "kept").is_ok());
  store->release_log(false);
  REQUIRE(store->flush_log().is_ok());
  // A hold is this thread's: another thread's write goes out at once.
  store->hold_log();
  std::thread([&] { REQUIRE(store->put(sqs, "other thread", "kept").is_ok()); }).join();
  // ...and a held write that nothing flushed is still in the process when it dies.
  REQUIRE(store->put(sqs, "held", "lost").is_ok());
  CHECK(get(*store, sqs, "held") == "lost");  // readable meanwhile
  ::kill(::getpid(), SIGKILL);
}

TEST_CASE("acknowledged writes survive kill -9", "[storage][store]") {
  TempDir dir;
  std::string env = "SLESS_STORE_KILL_DIR=" + dir.path().string();
  std::string exe = "/proc/self/exe";
  std::string filter = "[store-kill-child]";
  char* argv[] = {exe.data(), filter.data(), nullptr};
  char* envp[] = {env.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t child = 0;
  const int spawned = ::posix_spawn(&child, exe.c_str(), &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  auto store = open_store(dir.path());
  Family* sqs = store->family("sqs");
  CHECK(get(*store, sqs, "msg") == "kept");
  CHECK(get(*store, sqs, "released") == "kept");
  CHECK(get(*store, sqs, "flushed") == "kept");
  CHECK(get(*store, sqs, "other thread") == "kept");
  CHECK(get(*store, sqs, "held") == "<NotFound>");
}

TEST_CASE("a second open of the same directory says it is in use", "[storage][store]") {
  TempDir dir;
  {
    auto first = open_store(dir.path());
    auto second = Store::open(store_on_disk(dir.path()));
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().code() == Status::Code::kBusy);
    CHECK_THAT(second.status().message(), Catch::Contains("is in use"));
    CHECK_THAT(second.status().message(), Catch::Contains(dir.path().string()));
  }
  CHECK(Store::open(store_on_disk(dir.path())).ok());  // free again once closed
}

TEST_CASE("a brand-new database is created beside its caller: reads, writes and close need no wait",
          "[storage][store]") {
  for (int round = 0; round < 20; ++round) {
    TempDir dir;
    Options o = store_on_disk(dir.path() / "db");  // not there yet: created by the open
    o.families = {"sqs", "s3"};
    {
      auto opened = Store::open(o);
      REQUIRE(opened.ok());
      auto store = std::move(opened).value();
      Family* sqs = store->family("sqs");
      CHECK(get(*store, sqs, "k") == "<NotFound>");  // whether or not the database is open yet
      auto it = store->iterate(sqs, "", "");
      CHECK(keys_of(*it).empty());
      WriteBatch empty;
      CHECK(store->write(empty).is_ok());
      if (round % 2 == 0) {
        REQUIRE(store->put(sqs, "k", "v" + std::to_string(round)).is_ok());  // waits for the open
        CHECK(get(*store, sqs, "k") == "v" + std::to_string(round));
      }
      if (round % 4 == 1) CHECK(store->flush().is_ok());
    }  // closes, even while the creation is still running
    auto again = open_store(dir.path() / "db");
    CHECK(get(*again, again->family("sqs"), "k") == (round % 2 == 0 ? "v" + std::to_string(round) : "<NotFound>"));
  }
}

TEST_CASE("a brand-new database that fails to open in the background fails every write with the cause",
          "[storage][store]") {
  TempDir dir;
  fs::create_directories(dir.path() / "IDENTITY");  // RocksDB cannot write its IDENTITY file over a directory
  Options o = store_on_disk(dir.path());
  o.families = {"sqs"};
  auto opened = Store::open(o);
  REQUIRE(opened.ok());  // the creation runs after open returns
  auto store = std::move(opened).value();
  CHECK(get(*store, store->family("sqs"), "k") == "<NotFound>");
  const Status put = store->put(store->family("sqs"), "k", "v");
  CHECK(put.code() == Status::Code::kIOError);
  CHECK_THAT(put.message(), Catch::Contains("the database did not open"));
  WriteBatch batch;
  batch.put(store->family("sns"), "k", "v");
  CHECK_THAT(store->write(batch).message(), Catch::Contains("the database did not open"));
  CHECK_FALSE(store->flush().is_ok());
  store->create_families();  // returns rather than waiting forever
}

TEST_CASE("a directory being created is already in use for a second open", "[storage][store]") {
  TempDir dir;
  auto first = open_store(dir.path());  // returns before its database exists
  auto second = Store::open(store_on_disk(dir.path()));
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Status::Code::kBusy);
  CHECK_THAT(second.status().message(), Catch::Contains("is in use"));
  REQUIRE(first->put(first->family("sqs"), "k", "v").is_ok());
  CHECK(get(*first, first->family("sqs"), "k") == "v");
}

TEST_CASE("in-memory stores keep nothing on disk and nothing in common", "[storage][store]") {
  auto a = open_memory();
  auto b = open_memory();
  CHECK(a->in_memory());
  REQUIRE(a->put(a->family("sqs"), "k", "a").is_ok());
  REQUIRE(b->put(b->family("sqs"), "k", "b").is_ok());
  CHECK(get(*a, a->family("sqs"), "k") == "a");
  CHECK(get(*b, b->family("sqs"), "k") == "b");
  CHECK(a->flush().is_ok());
  CHECK_FALSE(fs::exists("/sless-memory"));
}

// Whether RocksDB's newest options file in dir lists the family (it lists every family it has).
bool options_file_lists(const fs::path& dir, const std::string& family) {
  fs::path newest;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("OPTIONS-", 0) == 0 && (newest.empty() || name > newest.filename().string())) newest = e.path();
  }
  std::ifstream f(newest);
  std::stringstream text;
  text << f.rdbuf();
  return text.str().find("[CFOptions \"" + family + "\"]") != std::string::npos;
}

TEST_CASE("listed families wait for create_families or their first write, and read as empty until then",
          "[storage][store]") {
  TempDir dir;
  Options o = store_on_disk(dir.path());
  o.families = {"sqs", "sns", "kinesis"};
  {
    auto opened = Store::open(o);
    REQUIRE(opened.ok());
    auto store = std::move(opened).value();
    CHECK_FALSE(options_file_lists(dir.path(), "sqs"));  // not created at open
    Family* sqs = store->family("sqs");
    CHECK(get(*store, sqs, "k") == "<NotFound>");
    auto it = store->iterate(sqs, "", "");
    CHECK(keys_of(*it).empty());
    CHECK(store->clear(sqs).is_ok());
    // Writers racing on the pending families: one creates them all, the others wait for it.
    std::vector<std::thread> writers;
    std::vector<Status> results(6, Status::internal("not run"));
    for (size_t i = 0; i < results.size(); ++i) {
      writers.emplace_back([&, i] {
        const std::string name = o.families[i % 3];
        WriteBatch batch;
        batch.put(store->family(name), "k" + std::to_string(i), name);
        results[i] = store->write(batch);
      });
    }
    for (auto& w : writers) w.join();
    for (const Status& r : results) CHECK(r.is_ok());
    CHECK(options_file_lists(dir.path(), "kinesis"));
  }
  auto store = open_store(dir.path());
  for (size_t i = 0; i < 6; ++i) {
    CHECK(get(*store, store->family(o.families[i % 3]), "k" + std::to_string(i)) == o.families[i % 3]);
  }
}

TEST_CASE("create_families creates the listed families, others are created at their first write",
          "[storage][store]") {
  TempDir dir;
  Options o = store_on_disk(dir.path());
  o.families = {"lambda", "logs"};
  {
    auto store = std::move(Store::open(o)).value();
    store->create_families();
    store->create_families();  // idempotent
    CHECK(options_file_lists(dir.path(), "lambda"));
    CHECK(options_file_lists(dir.path(), "logs"));
    Family* other = store->family("events");
    CHECK_FALSE(options_file_lists(dir.path(), "events"));
    CHECK(get(*store, other, "rule") == "<NotFound>");
    REQUIRE(store->put(other, "rule", "r1").is_ok());
    CHECK(options_file_lists(dir.path(), "events"));
  }
  auto store = open_store(dir.path());
  CHECK(get(*store, store->family("events"), "rule") == "r1");
  CHECK(get(*store, store->family("logs"), "x") == "<NotFound>");
}

TEST_CASE("family is safe to call from many threads", "[storage][store]") {
  auto store = open_memory();
  std::vector<Family*> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] { seen[t] = store->family("family-" + std::to_string(t % 2)); });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (size_t t = 0; t < seen.size(); ++t) {
    REQUIRE(seen[t] != nullptr);
    CHECK(seen[t] == seen[t % 2]);
  }
  CHECK(seen[0] != seen[1]);
}

}  // namespace sless::storage
