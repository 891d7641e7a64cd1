// CloudWatch Logs: log groups, log streams and their events, durable in the "logs" column family.
// Lambda invocations queue their lines here (LogsService::enqueue) and one writer at a time turns
// everything queued into one WriteBatch, keeping the groups' and streams' metadata in memory
// (rebuilt from the store at start). Every read first writes what is queued, so a line queued
// before a read began is visible to it. Thread-safe: the queue has its own mutex, and every write
// to the column family (with the metadata it updates) holds the writer mutex.
//
// A stream's events are entries under the stream's prefix, keyed by timestamp and a sequence
// number. An entry holds one event, or a run: the lines of one invocation (START to REPORT), kept
// together as one entry when they are in time order, span at most kMaxRunSpanMs and start no
// earlier than the stream's last event. Runs key by their first event, so a read from a time T
// starts at T - kMaxRunSpanMs and drops the earlier events; positions in a stream (tokens, event
// ids) are an entry's key and the event's index in it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "services/service.h"

namespace sless::storage {
class Family;
}

namespace sless::services::logs {

struct Event {
  int64_t timestamp_ms;
  std::string message;
};

class LogsService final : public Provider {
 public:
  LogsService();
  std::string_view name() const override { return "logs"; }
  Status start(Env& env) override;
  void stop() override;
  Status reset() override;

  // Appends events to a stream, creating the group and the stream when missing (as Lambda's
  // logging does), and returns once they are written. Events need not be sorted.
  Status append(const std::string& account, const std::string& region, const std::string& group,
                const std::string& stream, std::vector<Event> events);
  // Queues events for the next batch write, as append does but without waiting: they are visible
  // to every read that starts after this returns. Call write_queued() soon after. `run`: the
  // events are one invocation's lines, stored as one entry when they qualify (see above).
  void enqueue(std::string account, std::string region, std::string group, std::string stream,
               std::vector<Event> events, bool run = false);

  // The longest time a run of events may span; reads from a time look back this far.
  static constexpr int64_t kMaxRunSpanMs = 1000;
  // Writes what is queued, in one WriteBatch, unless another thread is writing: that thread then
  // writes what was queued meanwhile before it returns. Fewer than kWriteNowQueued appends wait up
  // to kWriteDelayMs for more (on a timer), so that one write carries many invocations' lines.
  void write_queued();
  static constexpr size_t kWriteNowQueued = 64;
  static constexpr int kWriteDelayMs = 5;
  // Writes everything queued so far and waits for writes in progress.
  Status flush();

 private:
  using Params = nlohmann::json;
  using Out = Outcome<protocol::OperationOutput>;

  Out create_log_group(RequestContext& ctx, Params& p);
  Out delete_log_group(RequestContext& ctx, Params& p);
  Out describe_log_groups(RequestContext& ctx, Params& p);
  Out create_log_stream(RequestContext& ctx, Params& p);
  Out delete_log_stream(RequestContext& ctx, Params& p);
  Out describe_log_streams(RequestContext& ctx, Params& p);
  Out put_log_events(RequestContext& ctx, Params& p);
  Out get_log_events(RequestContext& ctx, Params& p);
  Out filter_log_events(RequestContext& ctx, Params& p);
  Out put_retention_policy(RequestContext& ctx, Params& p);
  Out delete_retention_policy(RequestContext& ctx, Params& p);
  Out tag_resource(RequestContext& ctx, Params& p);
  Out untag_resource(RequestContext& ctx, Params& p);
  Out list_tags_for_resource(RequestContext& ctx, Params& p);

  std::string group_key(const std::string& account, const std::string& region, const std::string& group) const;
  std::string stream_key(const std::string& account, const std::string& region, const std::string& group,
                         const std::string& stream) const;
  std::string events_prefix(const std::string& account, const std::string& region, const std::string& group,
                            const std::string& stream) const;
  bool load(const std::string& key, nlohmann::json* out) const;
  // Reads group and stream metadata from the store into groups_ / streams_ (start).
  Status rebuild();

  // The metadata CloudWatch Logs keeps per stream, mirrored in the stream's record. The record is
  // rewritten at most once a second of ingestion time per stream (CloudWatch Logs itself updates
  // these figures eventually); in between the stream is dirty, and any read, and stop(), writes
  // dirty records first. After a kill -9, start-up finds the records that missed events (the last
  // event is newer than the record says) and takes their figures from the events themselves.
  struct StreamMeta {
    int64_t creation_ms = 0;
    int64_t first_ms = INT64_MAX;  // INT64_MAX: no event yet
    int64_t last_ms = INT64_MIN;
    int64_t ingestion_ms = 0;
    int64_t stored_bytes = 0;
    int64_t recorded_ms = INT64_MIN;  // ingestion time when the record was last written by this process
    bool dirty = false;               // newer than its record
  };
  struct Queued {
    std::string account, region, group, stream;
    std::vector<Event> events;
    int64_t ingestion_ms = 0;
    bool run = false;
  };
  // Writes queued appends as one batch; write_mu_ held.
  Status write_locked(std::vector<Queued>& batch);
  // Writes what is queued, then the dirty streams' records; write_mu_ held.
  Status flush_locked();
  // Writes the records of dirty streams; write_mu_ held.
  Status write_dirty_locked();
  // Writes batches until the queue is empty; the caller set draining_.
  void write_rounds();
  std::vector<Queued> take_queue();
  // Resolves logGroupName or logGroupIdentifier (a name or an ARN).
  std::string group_name(const Params& p) const;

  Env* env_ = nullptr;
  storage::Family* family_ = nullptr;
  std::atomic<uint64_t> seq_{0};

  std::mutex queue_mu_;
  std::vector<Queued> queue_;
  bool draining_ = false;             // a thread is in write_rounds(): enqueuers leave their events to it
  bool write_timer_armed_ = false;    // a write_queued() timer is pending (queue_mu_)
  std::atomic<size_t> unwritten_{0};  // queued appends not yet written (taken ones included)

  // The writer mutex: held across every write to the family and guards the metadata below.
  std::mutex write_mu_;
  std::set<std::string> groups_;                // group keys
  std::map<std::string, StreamMeta> streams_;   // by stream key
  std::atomic<bool> dirty_{false};              // some stream in streams_ may be dirty
};

}  // namespace sless::services::logs
