// The in-memory picture of a stream and its shards: a cache rebuilt from the store at start
// (StreamStore) and kept in step with it by the provider.
//
// Locking: Stream::mu guards the stream's metadata and its shard list; record reads and writes
// hold it shared, changes of shape (split, merge, retention, tags, ...) hold it exclusively.
// Shard::mu guards a shard's write position and is held while a record is written, so records
// of one shard reach the store one at a time, in counter order: every counter below
// next_counter is committed and readable.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/kinesis/hash_key.h"

namespace sless::services::kinesis {

enum class StreamStatus { kCreating, kActive, kUpdating, kDeleting };
const char* to_string(StreamStatus s);

struct Shard {
  // Fixed when the shard is created.
  uint32_t index = 0;
  std::string id;                  // "shardId-000000000003"
  HashKey start = 0;
  HashKey end = 0;
  std::optional<uint32_t> parent;
  std::optional<uint32_t> adjacent_parent;
  int64_t created_ms = 0;
  std::string key_prefix;          // StreamStore::shard_prefix of this shard

  // Guarded by mu.
  mutable std::mutex mu;
  uint64_t next_counter = 0;       // the counter of the next record; all below are committed
  int64_t last_arrival_ms = 0;     // arrival times never decrease along a shard
  bool closed = false;
  int64_t closed_ms = 0;           // when closed: no record arrives after this
  uint64_t trimmed_below = 0;      // records below this counter were removed by retention
};

// A record on its way into a shard: checked and hashed, then given its shard and counter when
// it is written. A queued PutRecord also says what to do once that happened.
struct PendingRecord {
  HashKey hash = 0;
  std::string partition_key;
  std::string data;
  Shard* shard = nullptr;
  uint64_t counter = 0;
  // Queued PutRecords only: runs once, outside every lock, after the write; `error` is empty on
  // success, else the ServiceError code to answer ("ResourceNotFoundException", ...).
  std::function<void(const PendingRecord& r, bool kms, const std::string& error)> finish;
};

struct Consumer {
  std::string name;
  std::string arn;
  int64_t created_ms = 0;
  bool deregistering = false;
  int64_t ready_ms = 0;            // CREATING (or DELETING) until then
  std::map<std::string, std::string> tags;
};

struct Stream {
  // Fixed for the life of the stream.
  uint64_t uid = 0;
  std::string account;
  std::string region;
  std::string name;
  std::string arn;
  int64_t created_ms = 0;
  // Set (under mu, exclusively) when the stream's state is being removed from the store; from
  // then on nothing may write its metadata or records again.
  std::atomic<bool> deleted{false};

  mutable std::shared_mutex mu;    // guards everything below (see the note atop this file)
  // Atomic as well, because lookups test for a finished deletion without the lock.
  std::atomic<StreamStatus> status{StreamStatus::kCreating};
  std::atomic<int64_t> status_until_ms{0};  // CREATING/UPDATING become ACTIVE then; DELETING ends the stream
  int retention_hours = 24;
  std::string mode = "PROVISIONED";
  std::string encryption_type = "NONE";
  std::string key_id;
  std::vector<std::string> shard_level_metrics;
  std::map<std::string, std::string> tags;
  std::vector<Consumer> consumers;
  int max_record_kib = 1024;
  std::vector<std::unique_ptr<Shard>> shards;   // by index, closed ones included
  std::vector<Shard*> open_shards;              // sorted by starting hash key; they tile the key space

  // PutRecords waiting for the stream's next group commit, and whether one is on its way. Guarded
  // by queue_mu, which is never held while taking another lock.
  std::mutex queue_mu;
  std::vector<PendingRecord> queue;
  bool flush_posted = false;

  // The status a client sees at `now_ms` (timed transitions applied).
  StreamStatus status_at(int64_t now_ms) const;
  // Deleted, as far as clients can tell.
  bool gone_at(int64_t now_ms) const {
    return deleted.load(std::memory_order_acquire) || (status == StreamStatus::kDeleting && now_ms >= status_until_ms);
  }
  // Records can be written and read (ACTIVE or UPDATING).
  bool usable_at(int64_t now_ms) const;

  // The open shard whose range holds `key`. open_shards must not be empty.
  Shard* shard_for(HashKey key) const;
  Shard* shard(uint32_t index) const { return index < shards.size() ? shards[index].get() : nullptr; }
  // Rebuilds open_shards from shards.
  void index_open_shards();
  // The oldest arrival time still within retention at `now_ms`.
  int64_t trim_horizon_ms(int64_t now_ms) const { return now_ms - int64_t{retention_hours} * 3600 * 1000; }
  // A new shard appended to `shards`, with its key prefix and starting sequence number set.
  Shard& add_shard(HashKey start, HashKey end, int64_t created_ms);

  std::string starting_sequence(const Shard& s) const;
  // For a closed shard (whose position no longer moves): the number of its last record, or its
  // first possible one when it never had any.
  std::string ending_sequence(const Shard& s) const;

  // Metadata as stored (everything but the records). Shards are read under their locks.
  nlohmann::json to_meta() const;
  // nullptr when the value is not a stream's metadata. Write positions are not in it: the caller
  // recovers them from the records.
  static std::unique_ptr<Stream> from_meta(const nlohmann::json& meta);
};

}  // namespace sless::services::kinesis
