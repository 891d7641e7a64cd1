// StreamStore: where Kinesis keeps its state in the daemon's RocksDB (column family "kinesis").
// It owns the key layout and the record encoding; callers decide what to write and when.
// Thread-safe (the Store is); the caller orders writes to one shard (the shard's lock).
//
//   <scope>"s"<name>                    stream metadata (JSON, see stream.h)
//   <scope>"r"<uid:u64><shard:u64><n:u64> one record: arrival ms, partition key, data
//
// <scope> is storage::key::scope(account, region). A stream's uid is random per incarnation, so
// records of a deleted stream can never be mistaken for those of a new one of the same name.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sless::storage {
class Family;
class Store;
class WriteBatch;
}  // namespace sless::storage

namespace sless::services::kinesis {

// One record as stored. The views point into the store's buffers and live until the next step
// of the scan that produced them.
struct RecordView {
  uint64_t counter = 0;
  int64_t arrival_ms = 0;
  std::string_view partition_key;
  std::string_view data;
};

class StreamStore {
 public:
  // Opens (creates) the family; the pointers must outlive this object.
  Status open(storage::Store* store);
  storage::Store* store() const { return store_; }
  storage::Family* family() const { return family_; }

  static std::string meta_key(std::string_view account, std::string_view region, std::string_view name);
  // The prefix of every record of one shard; a record's key is this plus record_suffix(counter).
  static std::string shard_prefix(std::string_view account, std::string_view region, uint64_t uid, uint32_t shard);
  static std::string record_suffix(uint64_t counter);
  // The prefix of every record of a stream (for deleting them all).
  static std::string stream_prefix(std::string_view account, std::string_view region, uint64_t uid);

  static void encode_record(std::string& out, int64_t arrival_ms, std::string_view partition_key,
                            std::string_view data);
  static bool decode_record(std::string_view value, RecordView* out);

  // Every stream's metadata value, scope by scope (records are skipped by seeking).
  Status load_metas(const std::function<void(std::string_view value)>& visit) const;

  // Calls visit for the records of one shard with counters in [from, to), in order, until it
  // returns false. Corrupt values are skipped and logged.
  Status scan(std::string_view shard_prefix, uint64_t from, uint64_t to,
              const std::function<bool(const RecordView&)>& visit) const;
  // The first and last stored records of a shard (nullopt when it has none).
  std::optional<RecordView> first_record(std::string_view shard_prefix, std::string* buffer) const;
  std::optional<RecordView> last_record(std::string_view shard_prefix, std::string* buffer) const;
  // The smallest counter in [from, to) whose record arrived at or after `time_ms`, or `to`.
  // Arrival times never decrease along a shard, so this is a binary search of seeks.
  uint64_t first_at_or_after(std::string_view shard_prefix, uint64_t from, uint64_t to, int64_t time_ms) const;

  // Adds the deletion of one shard's records with counters below `before` to `batch`.
  void trim(storage::WriteBatch& batch, std::string_view shard_prefix, uint64_t before) const;

 private:
  storage::Store* store_ = nullptr;
  storage::Family* family_ = nullptr;
};

}  // namespace sless::services::kinesis
