// Kinesis Data Streams: the provider behind the `kinesis` model (JSON 1.1, and CBOR through the
// protocol layer), plus a typed in-process API for the function host's stream event sources.
// One instance per daemon, created by the registry; every public method may be called from any
// thread once start() returned. Locks are per stream and per shard (see stream.h).
//
// In-process readers (the function host, issue 7):
//
//   auto* k = dynamic_cast<kinesis::KinesisProvider*>(registry.by_name("kinesis"));
//   auto shards = k->list_shards(account, region, "my-stream");            // lineage and state
//   auto batch = k->read_shard(account, region, "my-stream", "shardId-000000000000",
//                              {kinesis::ReadFrom::kTrimHorizon}, 100);
//   // process batch.records, checkpoint batch.next, read again from batch.next;
//   // when batch.shard_ended, continue with batch.child_shards (after all their parents end).
//   uint64_t id = k->add_commit_listener([](const kinesis::CommitEvent& e) { /* post a poll */ });
//
// A commit listener runs on the writing thread right after records are committed (outside
// every lock): it must be quick and must not call back into the provider synchronously; post
// the work (env.scheduler) instead.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/scheduler.h"
#include "services/kinesis/hash_key.h"
#include "services/kinesis/store.h"
#include "services/service.h"

namespace sless::services::kinesis {

struct Consumer;
struct Stream;
struct Shard;

// --- The in-process API ----------------------------------------------------------------------

enum class ReadFrom { kTrimHorizon, kLatest, kAtSequence, kAfterSequence, kAtTimestamp };

struct ReadPosition {
  ReadFrom from = ReadFrom::kTrimHorizon;
  std::string sequence_number;  // kAtSequence, kAfterSequence
  int64_t timestamp_ms = 0;     // kAtTimestamp
};

struct ShardRecord {
  std::string sequence_number;
  std::string partition_key;
  std::string data;             // the record's bytes (not base64)
  int64_t arrival_ms = 0;       // ApproximateArrivalTimestamp
  std::string encryption_type;  // "NONE" or "KMS"
};

struct ShardReadResult {
  std::string stream_arn;
  std::vector<ShardRecord> records;
  // Where the next read starts: after the last record returned, or where this one started
  // (made concrete: LATEST and TRIM_HORIZON become a sequence number) when none was.
  ReadPosition next;
  bool shard_ended = false;                 // closed and read to its end
  std::vector<std::string> child_shards;    // set when shard_ended
  int64_t millis_behind_latest = 0;
};

struct ShardSummary {
  std::string shard_id;
  std::string parent_shard_id;              // empty when none
  std::string adjacent_parent_shard_id;     // empty when none
  bool closed = false;
};

struct CommitEvent {
  std::string account;
  std::string region;
  std::string stream_name;
  std::string stream_arn;
  std::string shard_id;
  std::string last_sequence_number;         // the newest record committed
  size_t records = 0;                       // how many were committed to this shard
};
using CommitListener = std::function<void(const CommitEvent&)>;

// --- The provider ----------------------------------------------------------------------------

class KinesisProvider final : public Provider {
 public:
  KinesisProvider();
  ~KinesisProvider() override;

  std::string_view name() const override { return "kinesis"; }
  Status start(Env& env) override;
  void stop() override;
  Status reset() override;
  nlohmann::json describe() const override;

  // `stream` is a name or an ARN. Errors are the API's (ResourceNotFoundException, ...).
  Outcome<std::vector<ShardSummary>> list_shards(std::string_view account, std::string_view region,
                                                 std::string_view stream) const;
  Outcome<ShardReadResult> read_shard(std::string_view account, std::string_view region, std::string_view stream,
                                      std::string_view shard_id, const ReadPosition& from, size_t limit) const;
  uint64_t add_commit_listener(CommitListener listener);
  void remove_commit_listener(uint64_t id);

  // Runs one retention sweep now (the timer does it every minute); for tests.
  void sweep_retention();

 private:
  using StreamPtr = std::shared_ptr<Stream>;
  using Result = Outcome<protocol::OperationOutput>;

  // Where a read of a shard ended.
  struct ReadBatch {
    size_t count = 0;             // records handed to the visitor
    uint64_t next = 0;            // the counter to continue from
    bool ended = false;           // closed shard read to its end
    int64_t millis_behind = 0;
  };
  using RecordVisitor = std::function<void(const RecordView&)>;

  // Stream operations.
  Result create_stream(RequestContext& ctx, nlohmann::json& p);
  Result delete_stream(RequestContext& ctx, nlohmann::json& p);
  Result describe_stream(RequestContext& ctx, nlohmann::json& p);
  Result describe_stream_summary(RequestContext& ctx, nlohmann::json& p);
  Result list_streams(RequestContext& ctx, nlohmann::json& p);
  Result list_shards_op(RequestContext& ctx, nlohmann::json& p);
  Result change_retention(RequestContext& ctx, nlohmann::json& p, bool increase);
  Result split_shard(RequestContext& ctx, nlohmann::json& p);
  Result merge_shards(RequestContext& ctx, nlohmann::json& p);
  Result update_shard_count(RequestContext& ctx, nlohmann::json& p);
  Result update_stream_mode(RequestContext& ctx, nlohmann::json& p);
  Result add_tags(RequestContext& ctx, nlohmann::json& p);
  Result remove_tags(RequestContext& ctx, nlohmann::json& p);
  Result list_tags(RequestContext& ctx, nlohmann::json& p);
  Result tag_resource(RequestContext& ctx, nlohmann::json& p);
  Result untag_resource(RequestContext& ctx, nlohmann::json& p);
  Result list_tags_for_resource(RequestContext& ctx, nlohmann::json& p);
  Result start_encryption(RequestContext& ctx, nlohmann::json& p, bool start);
  Result enhanced_monitoring(RequestContext& ctx, nlohmann::json& p, bool enable);
  Result describe_limits(RequestContext& ctx, nlohmann::json& p);
  // Consumers.
  Result register_consumer(RequestContext& ctx, nlohmann::json& p);
  Result describe_consumer(RequestContext& ctx, nlohmann::json& p);
  Result list_consumers(RequestContext& ctx, nlohmann::json& p);
  Result deregister_consumer(RequestContext& ctx, nlohmann::json& p);
  // Records.
  // PutRecord answers after its group commit (see flush()).
  void put_record(Invocation&& inv);
  Result put_records(RequestContext& ctx, nlohmann::json& p);
  Result get_shard_iterator(RequestContext& ctx, nlohmann::json& p);
  Result get_records(RequestContext& ctx, nlohmann::json& p);

  // Finds the stream a request names (StreamName or StreamARN), whatever its status.
  Outcome<StreamPtr> find(const RequestContext& ctx, const nlohmann::json& p, int64_t now_ms) const;
  Outcome<StreamPtr> find(std::string_view account, std::string_view region, std::string_view name_or_arn,
                          int64_t now_ms) const;
  StreamPtr find_uid(uint64_t uid) const;
  // Looks up a stream by its ARN alone (TagResource and friends, consumer ARNs).
  Outcome<StreamPtr> find_by_arn(const RequestContext& ctx, std::string_view arn, int64_t now_ms) const;

  // The consumer a request names: by ConsumerARN, or by StreamARN and ConsumerName.
  struct ConsumerRef {
    StreamPtr stream;
    std::string arn;
    std::string name;
    bool matches(const Consumer& c, int64_t now_ms) const;  // and not deregistered yet
  };
  Outcome<ConsumerRef> find_consumer(const RequestContext& ctx, const nlohmann::json& p, int64_t now_ms) const;
  // The open or closed shard `shard_id` names (stream lock held).
  static Outcome<const Shard*> shard_named(const Stream& s, std::string_view shard_id);
  // The shards that `parent` was split or merged into (stream lock held).
  static std::vector<const Shard*> children_of(const Stream& s, const Shard& parent);

  // Writes a stream's metadata (plus whatever `batch` already holds) in one atomic write.
  Status save(const Stream& s, storage::WriteBatch& batch);
  Status save(const Stream& s);
  // Saves a change made under the stream's exclusive lock and answers `out`, or the error.
  Result commit(Stream& s, protocol::OperationOutput out = {});
  // Marks the stream UPDATING for the transition delay (ACTIVE at once when it is 0).
  void begin_update(Stream& s, int64_t now_ms) const;
  // Removes a stream and all its records; drops it from the caches.
  Status finish_delete(const StreamPtr& s);
  void schedule(std::chrono::milliseconds delay, std::function<void()> task);
  void arm_sweep();
  void sweep_stream(Stream& s, int64_t now_ms);
  // Open shards of the other streams of a scope (for the shard limit). Takes stream locks:
  // call it before locking a stream (the lock order is streams_mu_, then a stream's mu).
  int open_shards_in(std::string_view account, std::string_view region, const Stream* except) const;

  // Splits an open shard at `at` (exclusive lock on s held); returns the two children.
  std::pair<Shard*, Shard*> split(Stream& s, Shard& parent, HashKey at, int64_t now_ms);
  // Merges two adjacent open shards (lower first; exclusive lock held); returns the child.
  Shard* merge(Stream& s, Shard& lower, Shard& upper, int64_t now_ms);

  // Resolves where a read starts, as a counter of `shard` (stream lock held, shared).
  Outcome<uint64_t> resolve(const Stream& s, const Shard& shard, const ReadPosition& pos, int64_t now_ms,
                            std::string_view op) const;
  // Reads up to `limit` records from counter `from`, handing each to `visit` straight from the
  // store's buffers (stream lock held, shared).
  Outcome<ReadBatch> read(const Stream& s, const Shard& shard, uint64_t from, size_t limit, int64_t now_ms,
                          const RecordVisitor& visit) const;
  // Commits a stream's queued PutRecords (one WriteBatch) and answers them; posts itself again
  // when more arrived meanwhile.
  void flush(const StreamPtr& stream);
  void post_flush(const StreamPtr& stream);
  // Tells the commit listeners that `count` records up to `last_counter` reached `shard`.
  void notify(const Stream& s, const Shard& shard, uint64_t last_counter, size_t count) const;

  Env* env_ = nullptr;
  StreamStore store_;
  int64_t transition_ms_ = 0;

  // Guards the two maps (not the streams). Lock order: streams_mu_ before any Stream::mu, and
  // never streams_mu_ while holding a Stream::mu.
  mutable std::shared_mutex streams_mu_;
  std::unordered_map<std::string, StreamPtr> streams_;   // "<account>/<region>/<name>"
  std::unordered_map<uint64_t, StreamPtr> by_uid_;

  // False once stopped: posted flushes then leave the provider alone.
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  std::mutex timers_mu_;
  std::set<Scheduler::TimerId> timers_;
  bool stopped_ = false;

  using Listeners = std::vector<std::pair<uint64_t, CommitListener>>;
  std::atomic<bool> has_listeners_{false};
  mutable std::mutex listeners_mu_;  // guards the pointer; the list it points to is immutable
  std::shared_ptr<const Listeners> listeners_ = std::make_shared<Listeners>();
  uint64_t next_listener_ = 0;
};

}  // namespace sless::services::kinesis
