// One SQS queue: its configuration, its messages (a cache of what RocksDB holds, rebuilt at
// start), FIFO group and deduplication state, and the long-poll waiters parked on it. Every
// member is guarded by `mu`; the provider locks it per call and never holds two queue locks.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/scheduler.h"
#include "services/sqs/message.h"

namespace sless::storage {
class Family;
class WriteBatch;
}  // namespace sless::storage

namespace sless::services::sqs {

// The typed view of the attributes that drive behaviour (the rest stay as text in `attributes`).
struct QueueConfig {
  int visibility_timeout = 30;
  int delay_seconds = 0;
  int wait_seconds = 0;
  int64_t retention_seconds = 345600;
  int64_t max_message_size = kMaxMessageSize;
  bool fifo = false;
  bool content_dedup = false;
  bool dedup_per_group = false;
  int max_receive_count = 0;  // 0: no redrive policy
  std::string dlq_arn;
};

struct ReceiveOptions {
  int max = 1;
  int visibility_seconds = -1;  // -1: the queue's default
  std::string attempt_id;       // FIFO ReceiveRequestAttemptId
};

// A received message: a copy taken under the lock and its fresh receipt handle.
struct Delivered {
  Message message;
  std::string receipt;
};

using DeliverFn = std::function<void(std::vector<Delivered>)>;

class Queue {
 public:
  Queue(uint64_t id, std::string account, std::string region, std::string name);

  const uint64_t id;
  const std::string account;
  const std::string region;
  const std::string name;
  const std::string arn;

  std::mutex mu;
  // Guarded by mu:
  std::map<std::string, std::string> attributes;  // explicitly set attributes, as text
  std::map<std::string, std::string> tags;
  QueueConfig config;
  int64_t created_ms = 0;
  int64_t modified_ms = 0;
  int64_t last_purge_ms = 0;
  bool deleted = false;

  // Recomputes `config` from `attributes`.
  void apply_attributes();
  std::string meta_key() const;
  std::string encode_meta() const;
  static std::shared_ptr<Queue> decode_meta(std::string_view account, std::string_view region, std::string_view name,
                                            std::string_view value);

  // Keys of this queue's records.
  std::string message_key(uint64_t seq) const;
  std::string state_key(uint64_t seq) const;
  std::string dedup_key(std::string_view dedup) const;
  // [begin, end) of every message, state and dedup record of the queue.
  std::vector<std::pair<std::string, std::string>> record_ranges() const;

  // Receive journal: the new states of the messages one receive (or visibility change) touched
  // go into one record, keyed by a per-queue increasing number, instead of one key per message
  // (one store key per call, appended at the end of the queue's key range). Each message points
  // at the journal record with its latest state; a record is deleted (in the same batch) once
  // no message points at it. At start the records are applied in order over the messages.
  void put_states(storage::Family* fam, storage::WriteBatch& batch, const std::vector<Message*>& changed);
  // Adds the deletion of a message's records to `batch`: its message record, a state record of
  // the older layout if it has one, and its journal record when it was the last one in it.
  void delete_records(storage::Family* fam, storage::WriteBatch& batch, Message& m);
  std::string journal_key(uint64_t journal) const;
  static std::string encode_journal(const std::vector<Message*>& changed);
  // Start-up: applies one journal record over the messages it names (those still present).
  void restore_journal(uint64_t journal, std::string_view value);
  // Start-up, after every journal record was applied: counts the records' references and
  // returns those no message points at any more (to delete).
  std::vector<uint64_t> settle_journal();

  // Adds a message (already persisted, or being persisted in the caller's batch).
  void insert(Message&& m);
  // Restores a message's mutable state from its separate state record (start-up).
  void restore_state(uint64_t seq, std::string_view state);
  Message* find(uint64_t seq);
  // Removes a message from memory; the caller deletes its keys.
  void erase(uint64_t seq);
  // Moves a message's visibility time, keeping the index straight.
  void set_visible_at(Message& m, int64_t at);

  // Picks up to opts.max messages visible at `now` (FIFO: in group order, one group in flight),
  // marks them in flight, and writes their state into `batch`. Messages past retention are
  // dropped; messages past maxReceiveCount go into `to_dlq` instead (removed here, with their
  // keys deleted in `batch`) when `dlq_available`.
  std::vector<Delivered> receive(int64_t now, const ReceiveOptions& opts, storage::Family* fam,
                                 storage::WriteBatch& batch, std::vector<Message>& to_dlq, bool dlq_available);
  bool has_visible(int64_t now) const;
  // The earliest time after `now` when a message becomes visible, or 0.
  int64_t next_visible_after(int64_t now) const;

  struct Counts {
    int64_t visible = 0, in_flight = 0, delayed = 0;
  };
  Counts counts(int64_t now) const;
  size_t size() const { return messages_.size(); }
  const std::map<uint64_t, Message>& messages() const { return messages_; }
  // The messages past retention at `now` that the sweep should drop: the oldest ones in order of
  // arrival, then any among the next `budget` after where the previous call stopped (wrapping
  // around): messages redriven from another queue keep their original sent time and may sit
  // anywhere. Every message is looked at once per size()/budget calls; no call walks the whole
  // queue (the sweep runs on an io thread, whose other connections wait meanwhile).
  std::vector<uint64_t> expired(int64_t now, size_t budget);
  void clear_messages();

  // FIFO deduplication: the message id and sequence number a dedup key was accepted with.
  struct DedupEntry {
    int64_t expires_ms = 0;
    std::string message_id;
    std::string sequence_number;
  };
  std::unordered_map<std::string, DedupEntry> dedup;
  std::string dedup_scope_key(const std::string& group, const std::string& dedup_id) const;
  static std::string encode_dedup(const DedupEntry& e);
  static bool decode_dedup(std::string_view in, DedupEntry* e);

  // FIFO ReceiveRequestAttemptId: the messages an attempt got, for retries within 5 minutes.
  struct Attempt {
    int64_t expires_ms = 0;
    std::vector<std::pair<uint64_t, uint64_t>> received;  // (seq, nonce)
  };
  std::unordered_map<std::string, Attempt> attempts;

  // Long polls parked here.
  struct Waiter {
    uint64_t id = 0;
    int64_t deadline_ms = 0;
    ReceiveOptions opts;
    DeliverFn deliver;
    Scheduler::TimerId timer = 0;
  };
  std::list<Waiter> waiters;
  Scheduler::TimerId wake_timer = 0;
  int64_t wake_at_ms = 0;

 private:
  void release_journal(storage::Family* fam, storage::WriteBatch& batch, uint64_t journal);

  std::map<uint64_t, Message> messages_;
  std::unordered_map<uint64_t, uint32_t> journal_refs_;  // journal record -> messages pointing at it
  uint64_t next_journal_ = 1;
  std::vector<uint64_t> restored_journals_;  // start-up only
  std::set<std::pair<int64_t, uint64_t>> by_visible_;  // (visible_at, seq)
  uint64_t expiry_cursor_ = 0;  // expired(): the last message its scan looked at (0: from the start)
};

std::string queue_arn(std::string_view region, std::string_view account, std::string_view name);

}  // namespace sless::services::sqs
