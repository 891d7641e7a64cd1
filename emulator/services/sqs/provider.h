// The SQS provider: serves the `sqs` (JSON) and `sqs-query` (query) models with one set of
// handlers, keeps every queue's messages in RocksDB (family "sqs") with an in-memory cache per
// queue, and parks long polls as timers. Also the typed in-process API that SNS delivery and
// the function host's queue event source use (any thread may call it).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "services/service.h"
#include "services/sqs/queue.h"

namespace sless::storage {
class Family;
class WriteBatch;
}  // namespace sless::storage

namespace sless::services::sqs {

// A message to enqueue through the in-process API.
struct SendInput {
  std::string body;
  nlohmann::json attributes;   // MessageAttributes, params-tree shape ({"k": {"DataType":..,"StringValue":..}})
  nlohmann::json attributes_system;  // MessageSystemAttributes (AWSTraceHeader), same shape
  std::string trace_header;    // filled from attributes_system
  std::string group_id;        // FIFO
  std::string dedup_id;        // FIFO, optional with content-based deduplication
  int delay_seconds = -1;      // -1: the queue's DelaySeconds
  std::string sender_id;       // account or principal shown as SenderId
};

struct SendOutput {
  std::string message_id;
  std::string md5_body;
  std::string md5_attributes;
  std::string md5_system;
  std::string sequence_number;  // FIFO
};

// What the in-process API reports about a queue.
struct QueueInfo {
  std::string arn;
  std::string url_path;  // "/<account>/<name>"
  bool fifo = false;
  int visibility_timeout = 0;
  int max_receive_count = 0;
  std::string dlq_arn;
};

class SqsProvider final : public Provider {
 public:
  SqsProvider();
  ~SqsProvider() override;

  std::string_view name() const override { return "sqs"; }
  std::vector<std::string> models() const override { return {"sqs", "sqs-query"}; }
  Status start(Env& env) override;
  // Answers parked long polls (empty) and refuses to park new ones.
  void drain() override;
  void stop() override;
  Status reset() override;
  nlohmann::json describe() const override;

  // ---- In-process API (function host event sources, SNS). Queues are named by ARN. --------
  std::optional<QueueInfo> queue_info(std::string_view queue_arn) const;
  // Enqueues one message with SendMessage's validation and semantics (FIFO dedup included).
  Outcome<SendOutput> send(std::string_view queue_arn, SendInput input);
  // Two-step send for callers that write their own WriteBatch (SNS puts its publish and the
  // queue's message in one batch): stage() validates and adds the message's records to `batch`;
  // once the caller wrote the batch, commit() makes the message visible to receivers. A staged
  // send whose batch is never written must not be committed.
  struct Staged {
    std::shared_ptr<Queue> queue;
    std::optional<Message> message;  // empty when FIFO deduplication dropped it
    SendOutput out;
  };
  Outcome<Staged> stage(std::string_view queue_arn, SendInput input, storage::WriteBatch& batch);
  void commit(Staged&& staged);
  // Receives up to opts.max messages; when none is visible, waits up to wait_seconds (0: answers
  // at once) for one to arrive. `deliver` runs exactly once (possibly with no messages), on the
  // calling thread or an io thread. Maximum receive counts and dead-letter moves apply.
  Outcome<bool> receive(std::string_view queue_arn, ReceiveOptions opts, int wait_seconds, DeliverFn deliver);
  // Deletes by receipt handle (a stale handle is a no-op, as in AWS standard queues).
  Outcome<bool> delete_message(std::string_view queue_arn, std::string_view receipt);
  // Deletes several receipt handles of one queue under one lock in one WriteBatch, with
  // DeleteMessageBatch's per-entry semantics: one result per handle, in order (a stale handle is
  // a no-op on standard queues and an error on FIFO ones; a handle of another queue is
  // ReceiptHandleIsInvalid). Every entry is QueueDoesNotExist when the queue is gone.
  std::vector<Outcome<bool>> delete_messages(std::string_view queue_arn, const std::vector<std::string_view>& receipts);
  // Sets a received message's visibility timeout from now (0 makes it visible at once).
  Outcome<bool> change_visibility(std::string_view queue_arn, std::string_view receipt, int seconds);
  // Calls `hook` (outside any lock, on some io thread) whenever messages become visible in the
  // queue: after a send, a visibility expiry, a delay expiry or a redrive. Returns an id for
  // unwatch(). The hook must not block.
  uint64_t watch(std::string_view queue_arn, std::function<void()> hook);
  void unwatch(uint64_t id);

 private:
  using QueuePtr = std::shared_ptr<Queue>;
  struct Sent {
    SendOutput out;
    std::optional<Message> message;  // empty when deduplicated
  };

  // Operation handlers.
  Outcome<protocol::OperationOutput> create_queue(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> get_queue_url(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> list_queues(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> delete_queue(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> purge_queue(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> get_queue_attributes(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> set_queue_attributes(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> list_dead_letter_source_queues(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> tag_queue(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> untag_queue(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> list_queue_tags(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> add_permission(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> remove_permission(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> send_message(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> send_message_batch(RequestContext& ctx, nlohmann::json& p);
  void receive_message(Invocation&& inv);
  Outcome<protocol::OperationOutput> delete_message_op(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> delete_message_batch(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> change_visibility_op(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> change_visibility_batch(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> start_move_task(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> list_move_tasks(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> cancel_move_task(RequestContext& ctx, nlohmann::json& p);

  // Queue directory.
  static std::string dir_key(std::string_view account, std::string_view region, std::string_view name);
  Outcome<QueuePtr> resolve_url(const RequestContext& ctx, const nlohmann::json& p) const;
  QueuePtr by_arn(std::string_view arn) const;
  std::string url_of(const RequestContext& ctx, const Queue& q) const;

  // Checks a RedrivePolicy value for a queue of type `fifo` (`self`: the queue itself when it
  // exists): JSON shape, maxReceiveCount range, the target's existence, type and RedriveAllowPolicy.
  std::optional<ServiceError> check_redrive(const std::string& value, bool fifo, const Queue* self,
                                            const std::string& source_arn) const;
  // Validates one send and, when accepted, stages its records in `batch` (under q.mu).
  Outcome<Sent> prepare_send(Queue& q, SendInput& in, int64_t now, storage::WriteBatch& batch);
  Outcome<Sent> send_to(const QueuePtr& q, SendInput& in);
  // Receives under the queue lock, moving redriven messages into the dead-letter queue.
  std::vector<Delivered> receive_now(const QueuePtr& q, const ReceiveOptions& opts);
  // The same with q->mu held and the dead-letter queue resolved; redriven messages are
  // appended to `moved` for insert_redriven() once the lock is released.
  std::vector<Delivered> receive_locked(Queue& q, const ReceiveOptions& opts, const QueuePtr& dlq, int64_t now,
                                        std::vector<Message>& moved);
  QueuePtr dlq_of(const QueuePtr& q) const;
  void park(const QueuePtr& q, ReceiveOptions opts, int wait_seconds, DeliverFn deliver);
  // Hands visible messages to parked long polls and watchers; re-arms the queue's wake timer.
  void wake(const QueuePtr& q);
  void arm_wake_locked(const QueuePtr& q, int64_t now);
  Outcome<bool> delete_receipt(const QueuePtr& q, std::string_view receipt);
  std::vector<Outcome<bool>> delete_receipts(const QueuePtr& q, const std::vector<std::string_view>& receipts);
  Outcome<bool> change_receipt(const QueuePtr& q, std::string_view receipt, int64_t seconds);
  void insert_redriven(const QueuePtr& dlq, std::vector<Message>&& moved);
  void sweep();
  void run_move_task(std::string handle);

  uint64_t next_seq() { return seq_.fetch_add(1, std::memory_order_relaxed); }
  int64_t now_ms() const;

  Env env_;
  storage::Family* fam_ = nullptr;
  std::atomic<uint64_t> seq_{1};
  std::atomic<bool> stopping_{false};
  Scheduler::TimerId sweep_timer_ = 0;
  uint64_t sweep_ticks_ = 0;

  mutable std::shared_mutex dir_mu_;
  std::unordered_map<std::string, QueuePtr> queues_;  // dir_key -> queue

  std::mutex watch_mu_;
  struct Watch {
    std::string arn;
    std::function<void()> hook;
  };
  std::unordered_map<uint64_t, Watch> watches_;
  std::atomic<size_t> watch_count_{0};
  std::atomic<uint64_t> next_watch_{1};
  std::atomic<uint64_t> next_waiter_{1};

  // Message move tasks (DLQ redrive), by task handle.
  struct MoveTask {
    std::string handle, source_arn, destination_arn, status = "RUNNING", failure_reason;
    int64_t started_ms = 0;
    int64_t max_per_second = 0;
    int64_t moved = 0;
    int64_t to_move = 0;
    Scheduler::TimerId timer = 0;
  };
  static std::string task_key(const std::string& handle);
  void save_task(const MoveTask& t);  // with tasks_mu_ held
  std::mutex tasks_mu_;
  std::vector<MoveTask> tasks_;
};

}  // namespace sless::services::sqs
