// Pollers of event sources for event source mappings.
//
// Streams (Kinesis, DynamoDB Streams): per shard, rounds read in order from the checkpoint; a
// round's records go to up to ParallelizationFactor lanes by key, each lane invoking the function
// with one batch at a time, and the checkpoint moves only past records whose batches are done:
//
//   shard ──read(BatchSize×PF)──▶ filter ──▶ lanes by key ──▶ invoke ─┬─ ok ─────────────▶ finished
//     ▲  (commit listener or a 1 s poll)                              ├─ partial failure ─▶ finished up to the
//     │                                                               │                     first failed record
//     │                                                               └─ error ──▶ retry (bisect, max age,
//     │                                                                  max attempts), then OnFailure, skip
//     └── checkpoint past the finished prefix; next round when every lane is done
// Checkpoints live in the lambda column family, so a restart resumes where processing stopped.
// A closed shard's children start once all their parents are read to the end.
//
// With TumblingWindowInSeconds, a round holds the records of one window only (one lane), each
// invocation carries the window's state, and the window's final invocation (no records) comes
// once a record of a later window is read, the shard ends, or the window's end has passed with
// nothing more to read. The open window's state is written with the checkpoint in one batch.
#include <algorithm>
#include <map>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "core/time_format.h"
#include "services/delivery.h"
#include "services/dynamodb/engine.h"
#include "services/dynamodb/provider.h"
#include "services/events/pattern.h"
#include "services/kinesis/provider.h"
#include "services/lambda/event_sources.h"
#include "services/lambda/lambda.h"
#include "services/lambda/windows.h"
#include "services/registry.h"
#include "services/sqs/provider.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::lambda {

using nlohmann::json;
namespace key = storage::key;

namespace {

constexpr int64_t kIdlePollMs = 1000;

// A mapping's FilterCriteria patterns. CreateEventSourceMapping refuses patterns the matcher
// cannot read; one stored before that check is left out (with a warning) instead of failing
// every match.
std::vector<json> filter_patterns(const json& mapping) {
  std::vector<json> out;
  for (const auto& f : mapping.value("FilterCriteria", json::object()).value("Filters", json::array())) {
    if (auto p = filter_pattern(f)) {
      out.push_back(std::move(*p));
    } else {
      log::warn("lambda: event source mapping {}: ignoring an invalid filter pattern", mapping.value("UUID", ""));
    }
  }
  return out;
}
// How long after a window's end its final invocation waits for records that arrived just before.
constexpr int64_t kWindowGraceMs = 100;

// One record of a stream, in the source's terms and as the Lambda event carries it.
struct StreamRecord {
  std::string sequence_number;
  std::string key;     // what orders records under ParallelizationFactor: partition key, item key
  int64_t arrival_ms = 0;
  json event;          // the element of "Records"
  json filter_view;    // what FilterCriteria patterns see
};

// Positions in a shard are tokens: "" (the mapping's starting position), "T" (the shard's
// beginning), "A<seq>" (after a sequence number), "@<seq>" (at one).
struct StreamBatch {
  std::vector<StreamRecord> records;
  std::string next;  // where the next read starts ("" when unknown)
  bool shard_ended = false;
  std::vector<std::string> children;
};

struct ShardMeta {
  std::string id;
  std::vector<std::string> parents;
};

// What a stream runner needs from the source service.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  virtual Outcome<std::vector<ShardMeta>> shards() = 0;
  // Reads from a position token (see StreamBatch).
  virtual Outcome<StreamBatch> read(const std::string& shard, const std::string& position, size_t limit) = 0;
  virtual uint64_t watch(std::function<void(const std::string& shard)> on_commit) = 0;
  virtual void unwatch(uint64_t id) = 0;
  virtual const char* batch_info_name() const = 0;  // "KinesisBatchInfo", "DDBStreamBatchInfo"
};

class KinesisSource final : public StreamSource {
 public:
  KinesisSource(kinesis::KinesisProvider& k, std::string account, std::string region, std::string stream_arn,
                kinesis::ReadPosition start)
      : k_(k), account_(std::move(account)), region_(std::move(region)), arn_(std::move(stream_arn)), start_(start) {}

  Outcome<std::vector<ShardMeta>> shards() override {
    auto s = k_.list_shards(account_, region_, arn_);
    if (!s.ok()) return std::move(s).error();
    std::vector<ShardMeta> out;
    for (const auto& sh : s.value()) {
      ShardMeta m{sh.shard_id, {}};
      if (!sh.parent_shard_id.empty()) m.parents.push_back(sh.parent_shard_id);
      if (!sh.adjacent_parent_shard_id.empty()) m.parents.push_back(sh.adjacent_parent_shard_id);
      out.push_back(std::move(m));
    }
    return out;
  }

  Outcome<StreamBatch> read(const std::string& shard, const std::string& position, size_t limit) override {
    kinesis::ReadPosition pos = start_;
    if (position == "T") {
      pos = kinesis::ReadPosition{kinesis::ReadFrom::kTrimHorizon, "", 0};
    } else if (!position.empty()) {
      pos = kinesis::ReadPosition{position[0] == 'A' ? kinesis::ReadFrom::kAfterSequence : kinesis::ReadFrom::kAtSequence,
                                  position.substr(1), 0};
    } else if (!first_shards_.empty() && first_shards_.count(shard) == 0) {
      // A child shard starts at its beginning whatever the mapping's starting position.
      pos = kinesis::ReadPosition{kinesis::ReadFrom::kTrimHorizon, "", 0};
    }
    auto r = k_.read_shard(account_, region_, arn_, shard, pos, limit);
    if (!r.ok()) return std::move(r).error();
    StreamBatch b;
    for (auto& rec : r.value().records) {
      StreamRecord s;
      s.sequence_number = rec.sequence_number;
      s.key = rec.partition_key;
      s.arrival_ms = rec.arrival_ms;
      s.event = json{{"kinesis", json{{"kinesisSchemaVersion", "1.0"},
                                      {"partitionKey", rec.partition_key},
                                      {"sequenceNumber", rec.sequence_number},
                                      {"data", enc::base64_encode(rec.data)},
                                      {"approximateArrivalTimestamp", rec.arrival_ms / 1000.0}}},
                     {"eventSource", "aws:kinesis"},
                     {"eventVersion", "1.0"},
                     {"eventID", shard + ":" + rec.sequence_number},
                     {"eventName", "aws:kinesis:record"},
                     {"awsRegion", region_},
                     {"eventSourceARN", r.value().stream_arn}};
      // Filters see the data decoded when it is JSON, as Lambda's filtering does.
      json view = s.event;
      json data = json::parse(rec.data, nullptr, false);
      if (!data.is_discarded()) view["data"] = data;
      s.filter_view = std::move(view);
      b.records.push_back(std::move(s));
    }
    const auto& next = r.value().next;
    if (next.from == kinesis::ReadFrom::kAfterSequence) b.next = "A" + next.sequence_number;
    if (next.from == kinesis::ReadFrom::kAtSequence) b.next = "@" + next.sequence_number;
    if (next.from == kinesis::ReadFrom::kTrimHorizon) b.next = "T";
    b.shard_ended = r.value().shard_ended;
    b.children = r.value().child_shards;
    return b;
  }

  uint64_t watch(std::function<void(const std::string&)> on_commit) override {
    std::string arn = arn_;
    return k_.add_commit_listener([arn, on_commit](const kinesis::CommitEvent& e) {
      if (e.stream_arn == arn || e.stream_name == arn) on_commit(e.shard_id);
    });
  }
  void unwatch(uint64_t id) override { k_.remove_commit_listener(id); }
  const char* batch_info_name() const override { return "KinesisBatchInfo"; }

  void set_first_shards(const std::set<std::string>& s) { first_shards_ = s; }

 private:
  kinesis::KinesisProvider& k_;
  std::string account_, region_, arn_;
  kinesis::ReadPosition start_;
  std::set<std::string> first_shards_;
};

// A DynamoDB stream has one shard per stream (a table's stream that is turned off and on again is a
// new stream with its own ARN), so the source is that one shard.
class DynamoDbStreamSource final : public StreamSource {
 public:
  DynamoDbStreamSource(dynamodb::Engine& engine, std::string stream_arn, bool trim_horizon)
      : engine_(engine), arn_(std::move(stream_arn)), trim_horizon_(trim_horizon) {}

  Outcome<std::vector<ShardMeta>> shards() override {
    auto s = engine_.find_stream(arn_);
    if (!s) return not_found();
    return std::vector<ShardMeta>{ShardMeta{s->shard_id, {}}};
  }

  Outcome<StreamBatch> read(const std::string&, const std::string& position, size_t limit) override {
    auto s = engine_.find_stream(arn_);
    if (!s) return not_found();
    uint64_t start = 0, next = 0, trimmed = 0;
    bool enabled = true;
    {
      std::lock_guard lock(s->mu);
      start = s->start_seq;
      next = s->next_seq;
      trimmed = s->trimmed_through;
      enabled = s->enabled;
    }
    uint64_t first = std::max(start, trimmed + 1);
    uint64_t from = first;
    if (position.empty()) {
      from = trim_horizon_ ? first : next;
    } else if (position != "T") {
      auto seq = dynamodb::parse_sequence(std::string_view(position).substr(1));
      if (!seq) return ServiceError::internal("bad checkpoint " + position);
      from = std::max(first, position[0] == 'A' ? *seq + 1 : *seq);
    }
    StreamBatch b;
    for (auto& rec : engine_.read_stream(*s, from, limit)) {
      StreamRecord r;
      r.sequence_number = dynamodb::sequence_text(rec.sequence);
      r.arrival_ms = rec.created_ms;
      r.event = json::parse(rec.json, nullptr, false);
      if (r.event.is_discarded()) continue;
      r.event["eventSourceARN"] = arn_;
      if (auto d = r.event.find("dynamodb"); d != r.event.end() && d->contains("Keys")) r.key = (*d)["Keys"].dump();
      r.filter_view = r.event;
      from = rec.sequence + 1;
      b.records.push_back(std::move(r));
    }
    b.next = "@" + dynamodb::sequence_text(from);
    b.shard_ended = !enabled && b.records.empty() && from >= next;
    return b;
  }

  uint64_t watch(std::function<void(const std::string& shard)> on_commit) override {
    auto s = engine_.find_stream(arn_);
    std::string shard = s ? s->shard_id : std::string();
    std::string arn = arn_;
    return engine_.add_stream_listener([arn, shard, on_commit](const std::string& stream_arn, uint64_t) {
      if (stream_arn == arn) on_commit(shard);
    });
  }
  void unwatch(uint64_t id) override { engine_.remove_stream_listener(id); }
  const char* batch_info_name() const override { return "DDBStreamBatchInfo"; }

 private:
  ServiceError not_found() const {
    return ServiceError("ResourceNotFoundException", "Stream not found: " + arn_, 404);
  }

  dynamodb::Engine& engine_;
  std::string arn_;
  bool trim_horizon_;
};

// The runner of one stream mapping, all on the io threads. Each shard reads a round of records
// (BatchSize × ParallelizationFactor at most) from its checkpoint and splits it into lanes by key
// (the partition key for Kinesis, the item's key for DynamoDB): a lane sends its records to the
// function in order, one batch of up to BatchSize at a time, while the round's lanes run
// concurrently, so records of one key are processed in order. The checkpoint moves past the
// longest prefix of the round whose records' batches all finished; the next round is read once
// every lane is done. Errors, retries and bisection apply to the lane that failed.
class StreamRunner final : public SourceRunner, public std::enable_shared_from_this<StreamRunner> {
 public:
  StreamRunner(LambdaService& lambda, Env& env, json mapping, std::unique_ptr<StreamSource> source)
      : lambda_(lambda), env_(env), m_(std::move(mapping)), source_(std::move(source)) {
    family_ = env_.store->family("lambda");
    filters_ = filter_patterns(m_);
    auto types = m_.value("FunctionResponseTypes", json::array());
    partial_ = std::find(types.begin(), types.end(), "ReportBatchItemFailures") != types.end();
    batch_size_ = std::max<size_t>(1, m_.value("BatchSize", 100));
    parallel_ = static_cast<size_t>(std::clamp(m_.value("ParallelizationFactor", 1), 1, kMaxParallelization));
    window_s_ = std::max(0, m_.value("TumblingWindowInSeconds", 0));
    if (window_s_ > 0) {
      parallel_ = 1;  // a window's state is carried from one invocation to the next, in shard order
    }
  }

  void start() override {
    auto self = shared_from_this();
    watch_id_ = source_->watch([weak = std::weak_ptr<StreamRunner>(self)](const std::string& shard) {
      if (auto r = weak.lock()) r->env_.scheduler->post([r, shard] { r->poll(shard); });
    });
    env_.scheduler->post([self] { self->discover(); });
  }

  void stop() override {
    std::lock_guard lock(mu_);
    stopped_ = true;
    source_->unwatch(watch_id_);
    for (auto& [_, s] : shards_) {
      if (s.timer) env_.scheduler->cancel(s.timer);
      if (s.final_timer) env_.scheduler->cancel(s.final_timer);
      for (auto& lane : s.round.lanes) {
        if (lane.timer) env_.scheduler->cancel(lane.timer);
      }
    }
  }

  std::string last_result() const override {
    std::lock_guard lock(mu_);
    return last_result_;
  }

 private:
  static constexpr int kMaxParallelization = 10;
  static constexpr size_t kMaxRoundRecords = 10000;

  // The records of one key range of a round, sent in order, one batch at a time.
  struct Lane {
    std::vector<size_t> records;  // indexes into Round::records, in stream order
    size_t next = 0;              // the first record (in `records`) not finished yet
    size_t window = 0;            // bisected batch size (0: BatchSize)
    int attempts = 0;
    Scheduler::TimerId timer = 0;
  };

  // One read of a shard while its records are being processed.
  struct Round {
    std::vector<StreamRecord> records;
    std::vector<char> finished;   // per record: delivered, filtered out, or skipped
    size_t finished_prefix = 0;
    std::vector<Lane> lanes;
    size_t lanes_open = 0;
    windows::Window window;       // with tumbling windows: the window of every record of the round
  };

  struct ShardState {
    std::vector<std::string> parents;
    std::string checkpoint;  // a position token: where the next read starts; empty: none yet
    bool loaded = false;
    bool busy = false;       // a round is in progress
    bool ended = false;
    Round round;
    Scheduler::TimerId timer = 0;
    std::optional<windows::OpenWindow> window;  // with tumbling windows: the window being aggregated
    int final_attempts = 0;
    Scheduler::TimerId final_timer = 0;
  };

  std::string checkpoint_key(const std::string& shard) const {
    return key::KeyBuilder(m_["account"].get<std::string>(), m_["region"].get<std::string>())
        .str("cp").str(m_["UUID"].get<std::string>()).str(shard).take();
  }

  std::string window_key(const std::string& shard) const {
    return key::KeyBuilder(m_["account"].get<std::string>(), m_["region"].get<std::string>())
        .str("tw").str(m_["UUID"].get<std::string>()).str(shard).take();
  }

  // Adds the shard's open window (or its absence) to a batch.
  void window_to_batch_locked(const std::string& shard, const ShardState& st, storage::WriteBatch& batch) const {
    if (st.window) {
      batch.put(family_, window_key(shard), windows::encode(*st.window));
    } else {
      batch.del(family_, window_key(shard));
    }
  }

  void set_result(std::string r) {
    std::lock_guard lock(mu_);
    last_result_ = std::move(r);
  }

  // Finds shards (at start, and when a shard ends and children appear).
  void discover() {
    auto shards = source_->shards();
    if (!shards.ok()) {
      set_result("PROBLEM: " + shards.error().message);
      arm_discover();
      return;
    }
    std::vector<std::string> to_poll;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      std::set<std::string> first;
      for (const auto& sh : shards.value()) {
        bool is_new = shards_.count(sh.id) == 0;
        ShardState& st = shards_[sh.id];
        st.parents = sh.parents;
        if (is_new && !st.loaded) {
          std::string v;
          if (env_.store->get(family_, checkpoint_key(sh.id), &v).is_ok()) st.checkpoint = v;
          if (window_s_ > 0 && env_.store->get(family_, window_key(sh.id), &v).is_ok()) st.window = windows::decode(v);
          st.loaded = true;
        }
        if (sh.parents.empty()) first.insert(sh.id);
        to_poll.push_back(sh.id);
      }
      if (auto* k = dynamic_cast<KinesisSource*>(source_.get()); k && first_shards_.empty()) {
        first_shards_ = first;
        k->set_first_shards(first);
      }
    }
    for (const auto& s : to_poll) poll(s);
  }

  void arm_discover() {
    std::weak_ptr<StreamRunner> weak = shared_from_this();
    env_.scheduler->after(std::chrono::milliseconds(kIdlePollMs), [weak] {
      if (auto r = weak.lock()) r->discover();
    });
  }

  bool parents_done(const ShardState& st) const {
    for (const auto& p : st.parents) {
      auto it = shards_.find(p);
      if (it != shards_.end() && !it->second.ended) return false;
    }
    return true;
  }

  void arm_poll(const std::string& shard, int64_t ms) {
    ShardState& st = shards_[shard];
    if (st.timer) env_.scheduler->cancel(st.timer);
    std::weak_ptr<StreamRunner> weak = shared_from_this();
    st.timer = env_.scheduler->after(std::chrono::milliseconds(ms), [weak, shard] {
      if (auto r = weak.lock()) r->poll(shard);
    });
  }

  void poll(const std::string& shard) {
    std::string after;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      auto it = shards_.find(shard);
      if (it == shards_.end()) return;
      ShardState& st = it->second;
      if (st.busy || st.ended || !parents_done(st)) return;
      st.busy = true;
      after = st.checkpoint;
    }
    size_t limit = std::max(batch_size_, std::min(batch_size_ * parallel_, kMaxRoundRecords));
    auto read = source_->read(shard, after, limit);
    if (!read.ok()) {
      set_result("PROBLEM: " + read.error().message);
      std::lock_guard lock(mu_);
      shards_[shard].busy = false;
      arm_poll(shard, kIdlePollMs);
      return;
    }
    StreamBatch batch = std::move(read).value();
    windows::Window window;
    if (window_s_ > 0) {
      std::lock_guard lock(mu_);
      ShardState& st = shards_[shard];
      if (window_ends_locked(st, batch)) {
        st.final_attempts = 0;
        env_.scheduler->post([self = shared_from_this(), shard] { self->send_final(shard); });
        return;
      }
      if (!batch.records.empty()) {
        // The round holds the records of one window; the later ones are read again afterwards.
        const StreamRecord& first = batch.records.front();
        window = st.window && first.arrival_ms < st.window->window.end_ms ? st.window->window
                                                                         : windows::window_of(first.arrival_ms, window_s_);
        auto later = std::find_if(batch.records.begin(), batch.records.end(),
                                  [&](const StreamRecord& r) { return r.arrival_ms >= window.end_ms; });
        batch.records.erase(later, batch.records.end());
      }
    }
    if (batch.records.empty()) {
      std::lock_guard lock(mu_);
      ShardState& st = shards_[shard];
      st.busy = false;
      if (!batch.next.empty() && st.checkpoint.empty()) {
        // Pin LATEST to a concrete position so records arriving later are not skipped.
        st.checkpoint = batch.next;
      }
      if (batch.shard_ended) {
        st.ended = true;
        if (!batch.children.empty()) env_.scheduler->post([self = shared_from_this()] { self->discover(); });
        return;
      }
      int64_t wait = kIdlePollMs;
      if (st.window) {
        // Come back when the open window has ended, to send its final invocation.
        int64_t until_end = st.window->window.end_ms + kWindowGraceMs - env_.clock->now_ms();
        wait = std::clamp<int64_t>(until_end, 0, kIdlePollMs);
      }
      arm_poll(shard, wait);
      return;
    }
    start_round(shard, std::move(batch.records), window);
  }

  // Whether the shard's open window has its final invocation now: its state outgrew the limit,
  // a record of a later window was read, the shard ended, or its end passed with nothing to read.
  bool window_ends_locked(const ShardState& st, const StreamBatch& batch) const {
    if (!st.window) {
      return false;
    }
    if (st.window->terminated_early) {
      return true;
    }
    if (!batch.records.empty()) {
      return batch.records.front().arrival_ms >= st.window->window.end_ms;
    }
    return batch.shard_ended || env_.clock->now_ms() >= st.window->window.end_ms + kWindowGraceMs;
  }

  // The open window's final invocation: no records, the window's state, isFinalInvokeForWindow.
  // The shard waits for it: it is retried until it succeeds, as Lambda suspends the shard's
  // processing until then.
  void send_final(const std::string& shard) {
    std::string payload;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      ShardState& st = shards_[shard];
      st.final_timer = 0;
      if (!st.window) {
        st.busy = false;
        env_.scheduler->post([self = shared_from_this(), shard] { self->poll(shard); });
        return;
      }
      payload = windows::event(json::array(), windows::Call{&*st.window, shard, event_source_arn(), true}).dump();
    }
    auto self = shared_from_this();
    lambda_.invoke(InternalInvoke{m_["account"], m_["region"], m_["FunctionArn"], std::move(payload), /*async=*/false},
                   [self, shard](Outcome<host::InvokeResult> out) { self->on_final_result(shard, std::move(out)); });
  }

  void on_final_result(const std::string& shard, Outcome<host::InvokeResult> out) {
    bool ok = out.ok() && out.value().kind == host::InvokeResult::Kind::kOk;
    set_result(ok ? "OK" : "PROBLEM: Function call failed");
    std::lock_guard lock(mu_);
    if (stopped_) return;
    ShardState& st = shards_[shard];
    if (!ok) {
      int64_t delay = std::min<int64_t>(5000, 100LL << std::min(st.final_attempts++, 6));
      std::weak_ptr<StreamRunner> weak = shared_from_this();
      st.final_timer = env_.scheduler->after(std::chrono::milliseconds(delay), [weak, shard] {
        if (auto r = weak.lock()) r->send_final(shard);
      });
      return;
    }
    st.final_attempts = 0;
    if (st.window && st.window->terminated_early) {
      // An early end: the same window goes on with a fresh state.
      st.window = windows::OpenWindow{st.window->window, json::object(), false};
    } else {
      st.window.reset();
    }
    storage::WriteBatch batch;
    window_to_batch_locked(shard, st, batch);
    env_.store->write(batch).ignore();
    st.busy = false;
    env_.scheduler->post([self = shared_from_this(), shard] { self->poll(shard); });
  }

  const std::string& event_source_arn() const { return m_["EventSourceArn"].get_ref<const std::string&>(); }

  // Sorts a read's records into lanes; records past MaximumRecordAgeInSeconds and those the
  // filters reject are finished at once (the expired ones go to the OnFailure destination).
  void start_round(const std::string& shard, std::vector<StreamRecord> records, const windows::Window& window) {
    int max_age = m_.value("MaximumRecordAgeInSeconds", -1);
    int64_t now = env_.clock->now_ms();
    Round round;
    round.finished.assign(records.size(), 0);
    round.lanes.resize(parallel_);
    round.window = window;
    std::vector<StreamRecord> expired;
    for (size_t i = 0; i < records.size(); ++i) {
      const StreamRecord& r = records[i];
      if (max_age >= 0 && now - r.arrival_ms > int64_t{max_age} * 1000) {
        expired.push_back(r);
        round.finished[i] = 1;
      } else if (!filters_.empty() &&
                 std::none_of(filters_.begin(), filters_.end(),
                              [&](const json& f) { return events::matches(f, r.filter_view); })) {
        round.finished[i] = 1;  // filtered out: processed, never delivered
      } else {
        size_t lane = parallel_ == 1 ? 0 : std::hash<std::string>{}(r.key) % parallel_;
        round.lanes[lane].records.push_back(i);
      }
    }
    round.records = std::move(records);
    if (!expired.empty()) send_failure(shard, expired, "RecordAgeExceeded", json(), 0);
    std::vector<size_t> lanes;
    {
      std::lock_guard lock(mu_);
      ShardState& st = shards_[shard];
      st.round = std::move(round);
      for (size_t l = 0; l < st.round.lanes.size(); ++l) {
        if (!st.round.lanes[l].records.empty()) lanes.push_back(l);
      }
      st.round.lanes_open = lanes.size();
      move_checkpoint_locked(shard, st);
      if (lanes.empty()) {
        end_round_locked(shard, st);
        return;
      }
    }
    for (size_t l : lanes) send(shard, l);
  }

  // Invokes the function with the lane's next batch.
  void send(const std::string& shard, size_t lane_index) {
    std::vector<size_t> batch;
    std::string payload;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      ShardState& st = shards_[shard];
      Lane& lane = st.round.lanes[lane_index];
      lane.timer = 0;
      size_t size = lane.window ? lane.window : batch_size_;
      json records = json::array();
      for (size_t i = lane.next; i < lane.records.size() && batch.size() < size; ++i) {
        batch.push_back(lane.records[i]);
        records.push_back(st.round.records[lane.records[i]].event);
      }
      if (window_s_ > 0) {
        if (!st.window) {
          st.window = windows::OpenWindow{st.round.window, json::object(), false};
        }
        payload = windows::event(std::move(records), windows::Call{&*st.window, shard, event_source_arn(), false}).dump();
      } else {
        payload = json{{"Records", std::move(records)}}.dump();
      }
    }
    auto self = shared_from_this();
    lambda_.invoke(InternalInvoke{m_["account"], m_["region"], m_["FunctionArn"], std::move(payload), /*async=*/false},
                   [self, shard, lane_index, batch = std::move(batch)](Outcome<host::InvokeResult> out) {
                     self->on_result(shard, lane_index, batch, std::move(out));
                   });
  }

  // `batch` holds indexes of the round's records: the lane's next records, in order.
  void on_result(const std::string& shard, size_t lane_index, const std::vector<size_t>& batch,
                 Outcome<host::InvokeResult> out) {
    const Round* round;
    {
      std::lock_guard lock(mu_);
      round = &shards_[shard].round;  // stays in place until every lane of the round has finished
    }
    auto records_from = [&](size_t from) {
      std::vector<StreamRecord> rs;
      for (size_t i = from; i < batch.size(); ++i) rs.push_back(round->records[batch[i]]);
      return rs;
    };
    bool ok = out.ok() && out.value().kind == host::InvokeResult::Kind::kOk;
    size_t failed_at = batch.size();  // the first failed record's place in the batch
    json answer;
    if (ok && partial_) {
      // {"batchItemFailures": [{"itemIdentifier": "<sequence number>"}]}: resume from the earliest.
      answer = json::parse(out.value().payload, nullptr, false);
      if (answer.is_object()) {
        for (const auto& f : answer.value("batchItemFailures", json::array())) {
          std::string id = f.value("itemIdentifier", "");
          auto it = std::find_if(batch.begin(), batch.end(),
                                 [&](size_t i) { return round->records[i].sequence_number == id; });
          if (it == batch.end()) {
            ok = false;  // an unknown identifier fails the whole batch, as Lambda does
            break;
          }
          failed_at = std::min(failed_at, static_cast<size_t>(it - batch.begin()));
        }
      }
    }
    if (ok && window_s_ > 0) {
      // A windowed invocation answers the window's new state; an answer without one is a failure.
      auto state = windows::answered_state(out.value().payload);
      if (!state) {
        ok = false;
      } else {
        std::lock_guard lock(mu_);
        ShardState& st = shards_[shard];
        if (st.window) {
          st.window->terminated_early = windows::too_large(*state);
          st.window->state = std::move(*state);
        }
      }
    }
    if (ok && failed_at == batch.size()) {
      finish(shard, lane_index, batch.size(), /*reset_attempts=*/true, /*go_on=*/true);
      set_result("OK");  // after the checkpoint: a reader that sees OK sees the batch checkpointed
      return;
    }
    int max_attempts = m_.value("MaximumRetryAttempts", -1);
    int attempts;
    {
      std::lock_guard lock(mu_);
      Lane& lane = shards_[shard].round.lanes[lane_index];
      attempts = ++lane.attempts;
      if (!ok && m_.value("BisectBatchOnFunctionError", false) && batch.size() > 1) {
        lane.window = (batch.size() + 1) / 2;
      }
    }
    if (ok) {
      // A partial failure: what precedes the failed record is done; it is an attempt too, and
      // past MaximumRetryAttempts the failed part is skipped.
      set_result("OK");
      if (max_attempts >= 0 && attempts > max_attempts) {
        send_failure(shard, records_from(failed_at), "RetryAttemptsExhausted", answer, attempts);
        finish(shard, lane_index, batch.size(), /*reset_attempts=*/true, /*go_on=*/true);
        return;
      }
      finish(shard, lane_index, failed_at, /*reset_attempts=*/false, /*go_on=*/false);
      retry_later(shard, lane_index);
      return;
    }
    std::string why = !out.ok() ? out.error().message : out.value().error_type;
    set_result("PROBLEM: Function call failed");
    if (max_attempts >= 0 && attempts > max_attempts) {
      json response = out.ok() ? json::parse(out.value().payload, nullptr, false) : json();
      send_failure(shard, records_from(0), "RetryAttemptsExhausted", response, attempts);
      finish(shard, lane_index, batch.size(), /*reset_attempts=*/true, /*go_on=*/true);
      return;
    }
    log::debug("event source {}: batch failed ({}), retrying", m_["UUID"].get<std::string>(), why);
    retry_later(shard, lane_index);
  }

  // Marks the lane's next `count` records finished, moves the checkpoint, and (go_on) sends the
  // lane's next batch or, when it was the round's last lane, reads the next round.
  void finish(const std::string& shard, size_t lane_index, size_t count, bool reset_attempts, bool go_on) {
    bool more = false;
    {
      std::lock_guard lock(mu_);
      ShardState& st = shards_[shard];
      Lane& lane = st.round.lanes[lane_index];
      for (size_t i = 0; i < count && lane.next < lane.records.size(); ++i) {
        st.round.finished[lane.records[lane.next++]] = 1;
      }
      if (reset_attempts) {
        lane.attempts = 0;
        lane.window = 0;
      }
      move_checkpoint_locked(shard, st);
      if (!go_on) return;
      if (lane.next < lane.records.size()) {
        more = true;
      } else if (--st.round.lanes_open == 0) {
        end_round_locked(shard, st);
      }
    }
    if (more) send(shard, lane_index);
  }

  // The checkpoint goes past the longest finished prefix of the round.
  void move_checkpoint_locked(const std::string& shard, ShardState& st) {
    Round& r = st.round;
    size_t before = r.finished_prefix;
    while (r.finished_prefix < r.records.size() && r.finished[r.finished_prefix]) ++r.finished_prefix;
    if (r.finished_prefix == before) return;
    st.checkpoint = "A" + r.records[r.finished_prefix - 1].sequence_number;
    if (window_s_ == 0) {
      env_.store->put(family_, checkpoint_key(shard), st.checkpoint).ignore();
      return;
    }
    storage::WriteBatch batch;  // the checkpoint and the window's state that goes with it
    batch.put(family_, checkpoint_key(shard), st.checkpoint);
    window_to_batch_locked(shard, st, batch);
    env_.store->write(batch).ignore();
  }

  void end_round_locked(const std::string& shard, ShardState& st) {
    st.round = Round{};
    st.busy = false;
    env_.scheduler->post([self = shared_from_this(), shard] { self->poll(shard); });
  }

  // Sends the lane's batch again after a back-off (from its first unfinished record).
  void retry_later(const std::string& shard, size_t lane_index) {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    Lane& lane = shards_[shard].round.lanes[lane_index];
    int64_t delay = std::min<int64_t>(5000, 100LL << std::min(lane.attempts, 6));
    std::weak_ptr<StreamRunner> weak = shared_from_this();
    lane.timer = env_.scheduler->after(std::chrono::milliseconds(delay), [weak, shard, lane_index] {
      if (auto r = weak.lock()) r->send(shard, lane_index);
    });
  }

  void send_failure(const std::string& shard, const std::vector<StreamRecord>& records, const char* condition,
                    const json& response, int attempts) {
    std::string target = m_.value("DestinationConfig", json::object()).value("OnFailure", json::object()).value("Destination", "");
    log::warn("event source {}: {} records of {} skipped ({})", m_["UUID"].get<std::string>(), records.size(), shard,
              condition);
    if (target.empty() || records.empty()) return;
    int64_t now = env_.clock->now_ms();
    json info{{"shardId", shard},
              {"startSequenceNumber", records.front().sequence_number},
              {"endSequenceNumber", records.back().sequence_number},
              {"approximateArrivalOfFirstRecord", timefmt::iso8601_ms(records.front().arrival_ms)},
              {"approximateArrivalOfLastRecord", timefmt::iso8601_ms(records.back().arrival_ms)},
              {"batchSize", records.size()},
              {"streamArn", m_["EventSourceArn"]}};
    json record{{"requestContext", json{{"requestId", ids::uuid()}, {"functionArn", m_["FunctionArn"]},
                                        {"condition", condition}, {"approximateInvokeCount", attempts}}},
                {"responseContext", json{{"statusCode", 200}, {"executedVersion", "$LATEST"}, {"functionError", "Unhandled"}}},
                {"version", "1.0"},
                {"timestamp", timefmt::iso8601_ms(now)},
                {source_->batch_info_name(), info}};
    if (!response.is_null() && !response.is_discarded()) record["responsePayload"] = response;
    Delivery d;
    d.account = m_["account"];
    d.region = m_["region"];
    d.target_arn = target;
    d.body = record.dump();
    deliver(env_, std::move(d), [target](std::optional<ServiceError> e) {
      if (e) log::warn("on-failure delivery to {} failed: {}", target, e->message);
    });
  }

  LambdaService& lambda_;
  Env& env_;
  json m_;
  std::unique_ptr<StreamSource> source_;
  storage::Family* family_ = nullptr;
  std::vector<json> filters_;
  bool partial_ = false;
  size_t batch_size_ = 100;
  size_t parallel_ = 1;
  int window_s_ = 0;  // TumblingWindowInSeconds (0: none)
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::map<std::string, ShardState> shards_;
  std::set<std::string> first_shards_;
  uint64_t watch_id_ = 0;
  std::string last_result_;
};

// The runner of one SQS mapping: a few pollers, each receiving a batch (long polling, with the
// mapping's batching window), invoking the function, and deleting what it processed. Failed
// messages are left alone: they come back after the visibility timeout, and the queue's redrive
// policy moves them to its dead-letter queue, as with Lambda.
class SqsRunner final : public SourceRunner, public std::enable_shared_from_this<SqsRunner> {
 public:
  SqsRunner(LambdaService& lambda, Env& env, sqs::SqsProvider& sqs, json mapping)
      : lambda_(lambda), env_(env), sqs_(sqs), m_(std::move(mapping)) {
    filters_ = filter_patterns(m_);
    auto types = m_.value("FunctionResponseTypes", json::array());
    partial_ = std::find(types.begin(), types.end(), "ReportBatchItemFailures") != types.end();
    arn_ = m_["EventSourceArn"];
  }

  void start() override {
    auto info = sqs_.queue_info(arn_);
    int pollers = info && info->fifo ? 1 : kPollers;
    if (m_.contains("ScalingConfig") && m_["ScalingConfig"].contains("MaximumConcurrency")) {
      pollers = std::min(pollers, m_["ScalingConfig"]["MaximumConcurrency"].get<int>());
    }
    for (int i = 0; i < std::max(1, pollers); ++i) {
      env_.scheduler->post([self = shared_from_this()] { self->poll(); });
    }
  }

  void stop() override { stopped_.store(true); }

  std::string last_result() const override {
    std::lock_guard lock(mu_);
    return last_result_;
  }

 private:
  static constexpr int kPollers = 5;

  void set_result(std::string r) {
    std::lock_guard lock(mu_);
    last_result_ = std::move(r);
  }

  void poll() {
    if (stopped_.load()) return;
    auto batch = std::make_shared<std::vector<sqs::Delivered>>();
    int window = m_.value("MaximumBatchingWindowInSeconds", 0);
    int64_t deadline = env_.clock->now_ms() + int64_t{window} * 1000;
    gather(batch, deadline, /*wait=*/20);
  }

  // Receives until the batch is full or the window has passed (one long poll without a window).
  void gather(std::shared_ptr<std::vector<sqs::Delivered>> batch, int64_t deadline, int wait) {
    size_t size = m_.value("BatchSize", 10);
    sqs::ReceiveOptions opts;
    opts.max = static_cast<int>(size - batch->size());
    auto self = shared_from_this();
    auto got = sqs_.receive(arn_, opts, wait, [self, batch, deadline, size](std::vector<sqs::Delivered> more) {
      for (auto& d : more) batch->push_back(std::move(d));
      int64_t now = self->env_.clock->now_ms();
      if (self->stopped_.load()) return;
      if (batch->size() < size && now < deadline) {
        int remaining = static_cast<int>((deadline - now + 999) / 1000);
        self->env_.scheduler->post([self, batch, deadline, remaining] { self->gather(batch, deadline, remaining); });
        return;
      }
      if (batch->empty()) {
        self->env_.scheduler->post([self] { self->poll(); });
        return;
      }
      self->process(std::move(*batch));
    });
    if (!got.ok()) {
      set_result("PROBLEM: " + got.error().message);
      std::weak_ptr<SqsRunner> weak = self;
      env_.scheduler->after(std::chrono::milliseconds(kIdlePollMs), [weak] {
        if (auto r = weak.lock()) r->poll();
      });
    }
  }

  json record(const sqs::Delivered& d) const {
    const sqs::Message& m = d.message;
    json attrs{{"ApproximateReceiveCount", std::to_string(m.receive_count)},
               {"SentTimestamp", std::to_string(m.sent_ms)},
               {"SenderId", m.sender_id},
               {"ApproximateFirstReceiveTimestamp", std::to_string(m.first_receive_ms)}};
    if (!m.sequence_number.empty()) attrs["SequenceNumber"] = m.sequence_number;
    if (!m.group_id.empty()) attrs["MessageGroupId"] = m.group_id;
    if (!m.dedup_id.empty()) attrs["MessageDeduplicationId"] = m.dedup_id;
    if (!m.trace_header.empty()) attrs["AWSTraceHeader"] = m.trace_header;
    // Lambda spells message attributes in camel case.
    json mattrs = json::object();
    if (m.attributes.is_object()) {
      for (const auto& [name, a] : m.attributes.items()) {
        json v{{"dataType", a.value("DataType", "String")},
               {"stringListValues", json::array()},
               {"binaryListValues", json::array()}};
        if (a.contains("StringValue")) v["stringValue"] = a["StringValue"];
        if (a.contains("BinaryValue")) v["binaryValue"] = a["BinaryValue"];
        mattrs[name] = std::move(v);
      }
    }
    json r{{"messageId", m.id},
           {"receiptHandle", d.receipt},
           {"body", m.body},
           {"attributes", std::move(attrs)},
           {"messageAttributes", std::move(mattrs)},
           {"md5OfBody", m.md5_body},
           {"eventSource", "aws:sqs"},
           {"eventSourceARN", arn_},
           {"awsRegion", m_["region"]}};
    if (!m.md5_attributes.empty()) r["md5OfMessageAttributes"] = m.md5_attributes;
    return r;
  }

  void process(std::vector<sqs::Delivered> batch) {
    json records = json::array();
    std::vector<sqs::Delivered> delivered;
    std::vector<std::string_view> filtered_out;
    for (auto& d : batch) {
      json r = record(d);
      if (!filters_.empty()) {
        json view = r;
        json body = json::parse(d.message.body, nullptr, false);
        if (!body.is_discarded()) view["body"] = body;
        if (std::none_of(filters_.begin(), filters_.end(), [&](const json& f) { return events::matches(f, view); })) {
          filtered_out.push_back(d.receipt);  // filtered out: consumed, never delivered
          continue;
        }
      }
      records.push_back(std::move(r));
      delivered.push_back(std::move(d));
    }
    if (!filtered_out.empty()) sqs_.delete_messages(arn_, filtered_out);
    if (delivered.empty()) {
      env_.scheduler->post([self = shared_from_this()] { self->poll(); });
      return;
    }
    std::string payload = json{{"Records", std::move(records)}}.dump();
    auto self = shared_from_this();
    lambda_.invoke(InternalInvoke{m_["account"], m_["region"], m_["FunctionArn"], payload, /*async=*/false},
                   [self, delivered = std::move(delivered)](Outcome<host::InvokeResult> out) {
                     self->on_result(delivered, std::move(out));
                   });
  }

  void on_result(const std::vector<sqs::Delivered>& batch, Outcome<host::InvokeResult> out) {
    bool ok = out.ok() && out.value().kind == host::InvokeResult::Kind::kOk;
    std::set<std::string> failed;
    if (ok && partial_) {
      json answer = json::parse(out.value().payload, nullptr, false);
      if (answer.is_object()) {
        for (const auto& f : answer.value("batchItemFailures", json::array())) {
          std::string id = f.value("itemIdentifier", "");
          bool known = std::any_of(batch.begin(), batch.end(), [&](const sqs::Delivered& d) { return d.message.id == id; });
          if (!known || id.empty()) {
            ok = false;  // an unknown identifier fails the whole batch
            break;
          }
          failed.insert(id);
        }
      }
    }
    if (ok) {
      std::vector<std::string_view> done;  // one WriteBatch for the whole batch
      for (const auto& d : batch) {
        if (!failed.count(d.message.id)) done.push_back(d.receipt);
      }
      if (!done.empty()) sqs_.delete_messages(arn_, done);
      set_result("OK");
    } else {
      set_result("PROBLEM: Function call failed");
    }
    env_.scheduler->post([self = shared_from_this()] { self->poll(); });
  }

  LambdaService& lambda_;
  Env& env_;
  sqs::SqsProvider& sqs_;
  json m_;
  std::string arn_;
  std::vector<json> filters_;
  bool partial_ = false;
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  std::string last_result_;
};

// Kinesis mappings read from StartingPosition until they have a checkpoint.
kinesis::ReadPosition starting_position(const json& m) {
  std::string p = m.value("StartingPosition", "LATEST");
  if (p == "TRIM_HORIZON") return {kinesis::ReadFrom::kTrimHorizon, "", 0};
  if (p == "AT_TIMESTAMP") {
    double ts = m.value("StartingPositionTimestamp", 0.0);
    return {kinesis::ReadFrom::kAtTimestamp, "", static_cast<int64_t>(ts * 1000)};
  }
  return {kinesis::ReadFrom::kLatest, "", 0};
}

// std::shared_ptr owner that satisfies the unique_ptr<SourceRunner> interface.
class SharedRunner final : public SourceRunner {
 public:
  explicit SharedRunner(std::shared_ptr<SourceRunner> r) : r_(std::move(r)) {}
  void start() override { r_->start(); }
  void stop() override { r_->stop(); }
  std::string last_result() const override { return r_->last_result(); }

 private:
  std::shared_ptr<SourceRunner> r_;
};

}  // namespace

bool runner_supported(const std::string& service) {
  return service == "kinesis" || service == "sqs" || service == "dynamodb";
}

bool source_exists(Env& env, const std::string& account, const std::string& region, const std::string& arn) {
  std::string service = arn_service(arn);
  if (service == "sqs") {
    auto* sqs = env.registry->get<sqs::SqsProvider>("sqs");
    return sqs && sqs->queue_info(arn).has_value();
  }
  if (service == "kinesis") {
    auto* k = env.registry->get<kinesis::KinesisProvider>("kinesis");
    return k && k->list_shards(account, region, arn).ok();
  }
  if (service == "dynamodb") {
    auto* d = env.registry->get<dynamodb::DynamoDbService>("dynamodb");
    return d && d->engine().find_stream(arn) != nullptr;
  }
  return false;
}

std::unique_ptr<SourceRunner> make_runner(LambdaService& lambda, Env& env, const json& mapping) {
  std::string arn = mapping.value("EventSourceArn", "");
  std::string service = arn_service(arn);
  if (service == "kinesis") {
    auto* k = env.registry->get<kinesis::KinesisProvider>("kinesis");
    if (!k) return nullptr;
    auto source = std::make_unique<KinesisSource>(*k, mapping["account"], mapping["region"], arn,
                                                  starting_position(mapping));
    return std::make_unique<SharedRunner>(std::make_shared<StreamRunner>(lambda, env, mapping, std::move(source)));
  }
  if (service == "sqs") {
    auto* sqs = env.registry->get<sqs::SqsProvider>("sqs");
    if (!sqs || !sqs->queue_info(arn)) return nullptr;
    return std::make_unique<SharedRunner>(std::make_shared<SqsRunner>(lambda, env, *sqs, mapping));
  }
  if (service == "dynamodb") {
    auto* d = env.registry->get<dynamodb::DynamoDbService>("dynamodb");
    if (!d) return nullptr;
    auto source = std::make_unique<DynamoDbStreamSource>(d->engine(), arn,
                                                         mapping.value("StartingPosition", "LATEST") == "TRIM_HORIZON");
    return std::make_unique<SharedRunner>(std::make_shared<StreamRunner>(lambda, env, mapping, std::move(source)));
  }
  return nullptr;
}

std::optional<json> filter_pattern(const json& filter) {
  json p = json::parse(string_member(filter, "Pattern"), nullptr, false);
  if (p.is_discarded() || !p.is_object() || events::check_pattern(p)) return std::nullopt;
  return p;
}

}  // namespace sless::services::lambda
