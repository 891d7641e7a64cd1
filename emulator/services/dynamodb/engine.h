// Engine: DynamoDB's state in the Store (family "dynamodb"): table definitions, items, index
// entries, TTL entries, streams and stream records, plus in-memory caches of the definitions
// rebuilt at start(). Shared by the DynamoDB and DynamoDB Streams providers and
// by in-process callers (the function host reads streams through the API at the bottom).
//
// Thread-safety: every public method may be called from any thread. Tables are found under a
// shared lock; a write locks the stripes of the items it touches (sorted, so transactions
// cannot deadlock) and commits the item, its index entries, TTL entry and stream record as one
// WriteBatch. Reads take no lock (RocksDB reads are consistent). A write that needs nothing of
// the current item (no condition, index, stream or TTL) does not read it.
//
// Key layout (every key starts with a KeyBuilder scope; catalog keys use the empty scope):
//   ("","") "table" account region name        → TableDef meta (JSON)
//   ("","") "stream" stream-id                  → stream meta (JSON)
//   ("","") "token" account region token        → TransactWriteItems idempotency record
//   (acct,region) "i" table-id bucket pk [sk]   → item: u32 size (LE) + JSON text
//   (acct,region) "x" table-id index-id bucket ipk [isk] pk [sk] → projected item, same format
//   (acct,region) "e" table-id expiry-seconds bucket pk [sk]    → "" (TTL entry)
//   (acct,region) "r" stream-id sequence        → i64 ms (BE) + stream record JSON
// `bucket` is a 32-bit hash of the encoded partition key: a parallel Scan segment is a bucket
// range, and a Query is a range scan under (bucket, pk) in sort-key order. ItemCount and sizes
// are counted by scanning, like DynamoDB's own figures refreshed periodically (see counts()).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/service_error.h"
#include "core/status.h"
#include "services/dynamodb/table.h"

namespace sless {
class Clock;
class Scheduler;
namespace storage {
class Store;
class Family;
class Iterator;
class WriteBatch;
}  // namespace storage
}  // namespace sless

namespace sless::services::dynamodb {

class Engine;

// A table's runtime state. The definition is an immutable snapshot replaced as a whole.
class Table {
 public:
  static constexpr size_t kStripes = 64;

  std::shared_ptr<const TableDef> def() const {
    std::lock_guard lock(def_mutex_);
    return def_;
  }
  // Key prefixes of this table's items and index entries (see the layout above).
  const std::string& item_prefix() const { return item_prefix_; }
  std::string index_prefix(uint32_t index_id) const;

 private:
  friend class Engine;

  void set_def(std::shared_ptr<const TableDef> def) {
    std::lock_guard lock(def_mutex_);
    def_ = std::move(def);
  }

  mutable std::mutex def_mutex_;
  std::shared_ptr<const TableDef> def_;
  std::mutex meta_mutex_;  // serializes definition changes (UpdateTable, TTL, tags)
  std::string scope_;
  std::string item_prefix_;
  std::string entry_prefix_;  // index entries, before the index id
  std::string ttl_prefix_;
  std::array<std::mutex, kStripes> stripes_;
  bool deleted_ = false;  // written under every stripe
  // The last counts of items and bytes (index id 0 is the table), and when they were taken.
  std::mutex counts_mutex_;
  std::map<uint32_t, TableCounts> counts_;
  int64_t counted_ms_ = -1;
  bool counting_ = false;  // a background recount is queued
  std::atomic<bool> changed_{true};  // written since the last count
};

// The parts of a stored item value.
struct StoredItem {
  size_t size = 0;        // DynamoDB item size
  std::string_view json;  // the item's JSON text
};
std::optional<StoredItem> split_stored(std::string_view value);
std::string make_stored(size_t size, std::string_view json);

// One item change within Engine::write. The caller sets table, suffix and key_item; the engine
// reads the current item and calls the decider, which sets action and new_item.
struct Mutation {
  enum class Action { kKeep, kPut, kDelete };

  std::shared_ptr<Table> table;
  std::string suffix;  // Engine::item_suffix of the key
  Json key_item;       // the key attributes

  // Set by the engine before deciding (under the item's lock).
  std::shared_ptr<const TableDef> def;
  bool old_exists = false;
  size_t old_size = 0;
  std::string old_value;  // stored value (header + JSON)
  const Json& old_item();
  std::string_view old_json() const;

  // Set by the caller: the decider reads the current item (else the engine may skip reading
  // it when nothing else needs it, and old_exists stays false).
  bool needs_old = true;

  // Set by the decider.
  Action action = Action::kKeep;
  Json new_item;
  size_t new_size = 0;
  std::string new_json;       // optional: new_item's JSON text when already written
  bool by_ttl = false;        // a TTL expiry (stream record from the TTL service principal)

 private:
  friend class Engine;
  std::optional<Json> old_parsed_;
  size_t stripe_ = 0;
  bool read_old_ = false;
};

// Stream state. Immutable fields are set at creation; the rest is guarded by `mu`.
struct StreamState {
  uint64_t id = 0;
  std::string account;
  std::string region;
  std::string table_name;
  std::string arn;
  std::string label;
  std::string view_type;
  std::string shard_id;
  Json key_schema;
  int64_t created_ms = 0;
  std::string records_prefix;

  mutable std::mutex mu;
  bool enabled = true;
  int64_t disabled_ms = 0;
  uint64_t start_seq = 0;
  uint64_t next_seq = 0;
  uint64_t trimmed_through = 0;  // records with sequence <= this are gone
};

// A stream record as stored: its sequence number, when it was written and its JSON (the shape
// of DynamoDB Streams' GetRecords "Records" entries).
struct StreamRecord {
  uint64_t sequence = 0;
  int64_t created_ms = 0;
  std::string json;
};

std::string sequence_text(uint64_t seq);                       // 21 digits
std::optional<uint64_t> parse_sequence(std::string_view text);  // nullopt when not a number

class Engine {
 public:
  Engine();
  ~Engine();

  // Opens the family, loads tables and streams, arms the TTL and retention timers.
  Status start(storage::Store* store, Scheduler* scheduler, Clock* clock);
  void stop();
  Status reset();
  // Wipes stream records (keeps tables; their streams stay enabled, with fresh shards' data).
  Status reset_streams();

  Clock& clock() const { return *clock_; }

  // ---- tables ----
  std::shared_ptr<Table> find(std::string_view account, std::string_view region, std::string_view name) const;
  std::vector<std::string> table_names(std::string_view account, std::string_view region) const;
  std::vector<std::shared_ptr<Table>> all_tables() const;
  Outcome<std::shared_ptr<Table>> create_table(TableDef def);
  Outcome<std::shared_ptr<const TableDef>> delete_table(std::string_view account, std::string_view region,
                                                        std::string_view name);
  // Changes a definition that needs no data migration (billing, throughput, tags, SSE, ...).
  Outcome<std::shared_ptr<const TableDef>> change(Table& table,
                                                  const std::function<std::optional<ServiceError>(TableDef&)>& fn);
  // Turns the table's stream on (a new stream) or off (the current one closes).
  Outcome<std::shared_ptr<const TableDef>> set_stream(Table& table, bool enabled, const std::string& view_type);
  // Turns TTL on (existing items are indexed in the background) or off.
  Outcome<std::shared_ptr<const TableDef>> set_ttl(const std::shared_ptr<Table>& table, bool enabled,
                                                   const std::string& attribute);
  // Adds a GSI (backfilled in the background, IndexStatus CREATING until done) or deletes one.
  Outcome<std::shared_ptr<const TableDef>> add_index(const std::shared_ptr<Table>& table, IndexDef index,
                                                     const Json& attribute_definitions);
  Outcome<std::shared_ptr<const TableDef>> delete_index(Table& table, const std::string& index_name);
  // Items and bytes of a table (index_id 0) or one of its indexes, counted by a scan when the
  // table changed since the last count; a table past kExactCountLimit items is recounted in the
  // background at most once a minute and its figures may lag meanwhile, as DynamoDB's do.
  TableCounts counts(const std::shared_ptr<Table>& table, uint32_t index_id);
  static constexpr int64_t kExactCountLimit = 100000;

  // ---- items ----
  // The key suffix of an item or key (bucket + encoded key attributes); empty when the key
  // attributes are missing or of the wrong type.
  static std::string item_suffix(const KeySchema& key, const Json& item);
  // The 32-bit bucket of an encoded partition key.
  static uint32_t bucket_of(std::string_view encoded_pk);
  // Index entry key for an item (nullopt when the item lacks the index's keys).
  static std::optional<std::string> index_entry_key(const Table& table, const TableDef& def, const IndexDef& index,
                                                    const Json& item);
  // The stored value of an item (header + JSON), or nullopt.
  std::optional<std::string> get(const Table& table, std::string_view suffix) const;
  std::unique_ptr<storage::Iterator> iterate(std::string_view lower, std::string_view upper) const;

  enum class WriteResult { kCommitted, kRejected };
  // Locks every mutation's item, reads it, asks `decide` (for every mutation, in order), and,
  // unless one declined, commits all changes with their index entries, TTL entries, stream
  // records and counts in one WriteBatch. `extra` puts ride along (idempotency records).
  using Decide = std::function<bool(size_t index, Mutation& m)>;
  Outcome<WriteResult> write(std::vector<Mutation>& mutations, const Decide& decide,
                             const std::vector<std::pair<std::string, std::string>>& extra = {});

  // ---- transaction idempotency ----
  std::string token_key(std::string_view account, std::string_view region, std::string_view token) const;
  std::optional<std::string> get_raw(const std::string& key) const;

  // ---- streams (DynamoDB Streams, and the function host) ----
  std::shared_ptr<StreamState> find_stream(std::string_view arn) const;
  std::vector<std::shared_ptr<StreamState>> streams(std::string_view account, std::string_view region) const;
  // Records with sequence >= from, at most `limit` and about `max_bytes` of JSON.
  std::vector<StreamRecord> read_stream(const StreamState& stream, uint64_t from, size_t limit,
                                        size_t max_bytes = 1024 * 1024) const;

  // Called after records are committed to a stream, on the writing thread, outside every lock.
  // Keep it short (post work elsewhere). Returns an id for remove_stream_listener.
  using StreamListener = std::function<void(const std::string& stream_arn, uint64_t last_sequence)>;
  uint64_t add_stream_listener(StreamListener listener);
  void remove_stream_listener(uint64_t id);

  // Runs one TTL sweep now (the timer runs it every second); returns items deleted.
  size_t sweep_ttl();
  // Drops stream records older than 24 h (and streams disabled that long); the timer runs it.
  void trim_streams();

 private:
  struct Pending;
  std::string table_map_key(std::string_view account, std::string_view region, std::string_view name) const;
  std::shared_ptr<Table> make_table(std::shared_ptr<const TableDef> def);
  Status persist_def(const TableDef& def, storage::WriteBatch* batch);
  std::shared_ptr<StreamState> open_stream(const TableDef& def);
  // Writes `batch` (which persists `def`) with every stripe of the table locked, and installs
  // `def` when it was written. `before` and `after(ok)` run under the same locks.
  Outcome<std::shared_ptr<const TableDef>> commit_def(Table& table, TableDef def, storage::WriteBatch& batch,
                                                      const std::function<void()>& before = {},
                                                      const std::function<void(bool)>& after = {});
  Status persist_stream(const StreamState& s, storage::WriteBatch* batch);
  void lock_all(Table& table);
  void unlock_all(Table& table);
  std::map<uint32_t, TableCounts> count_now(const Table& table, const TableDef& def) const;
  void schedule_backfill(std::shared_ptr<Table> table, uint32_t index_id, std::string after);
  void backfill_step(const std::shared_ptr<Table>& table, uint32_t index_id, std::string after);
  void schedule_ttl_backfill(std::shared_ptr<Table> table, std::string after);
  void arm_timer();
  void notify(const std::vector<std::pair<std::string, uint64_t>>& appended);

  storage::Store* store_ = nullptr;
  storage::Family* family_ = nullptr;
  Scheduler* scheduler_ = nullptr;
  Clock* clock_ = nullptr;

  mutable std::shared_mutex tables_mutex_;
  std::unordered_map<std::string, std::shared_ptr<Table>> tables_;

  mutable std::shared_mutex streams_mutex_;
  std::map<uint64_t, std::shared_ptr<StreamState>> streams_;
  std::unordered_map<std::string, uint64_t> stream_ids_;  // by ARN

  std::mutex listeners_mutex_;
  std::shared_ptr<const std::map<uint64_t, StreamListener>> listeners_;
  uint64_t next_listener_ = 1;

  std::mutex timer_mutex_;
  uint64_t timer_ = 0;
  bool stopped_ = true;
  uint64_t ticks_ = 0;
};

}  // namespace sless::services::dynamodb
