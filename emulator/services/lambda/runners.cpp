// Pollers of event sources for event source mappings.
//
// Streams (Kinesis, DynamoDB Streams): one worker per shard reads in order from its checkpoint,
// invokes the function with a batch, and moves the checkpoint only when the batch is done:
//
//   shard ──read(BatchSize)──▶ filter ──▶ invoke ─┬─ ok ──────────────▶ checkpoint past the batch
//     ▲  (commit listener or a 1 s poll)          ├─ partial failure ─▶ checkpoint before the first failed record
//     └───────────────────────────────────────────┴─ error ──▶ retry (bisect, max age, max attempts)
//                                                              then OnFailure destination, skip
// Checkpoints live in the lambda column family, so a restart resumes where processing stopped.
// A closed shard's children start once all their parents are read to the end.
#include <algorithm>
#include <map>
#include <mutex>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "core/time_format.h"
#include "services/delivery.h"
#include "services/events/pattern.h"
#include "services/kinesis/provider.h"
#include "services/lambda/event_sources.h"
#include "services/lambda/lambda.h"
#include "services/registry.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::lambda {

using nlohmann::json;
namespace key = storage::key;

namespace {

constexpr int64_t kIdlePollMs = 1000;

// One record of a stream, in the source's terms and as the Lambda event carries it.
struct StreamRecord {
  std::string sequence_number;
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

// The runner of one stream mapping: a worker per shard, all on the io threads.
class StreamRunner final : public SourceRunner, public std::enable_shared_from_this<StreamRunner> {
 public:
  StreamRunner(LambdaService& lambda, Env& env, json mapping, std::unique_ptr<StreamSource> source)
      : lambda_(lambda), env_(env), m_(std::move(mapping)), source_(std::move(source)) {
    family_ = env_.store->family("lambda");
    for (const auto& f : m_.value("FilterCriteria", json::object()).value("Filters", json::array())) {
      json p = json::parse(f.value("Pattern", "{}"), nullptr, false);
      if (!p.is_discarded()) filters_.push_back(std::move(p));
    }
    auto types = m_.value("FunctionResponseTypes", json::array());
    partial_ = std::find(types.begin(), types.end(), "ReportBatchItemFailures") != types.end();
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
    }
  }

  std::string last_result() const override {
    std::lock_guard lock(mu_);
    return last_result_;
  }

 private:
  struct ShardState {
    std::vector<std::string> parents;
    std::string checkpoint;  // a position token: where the next read starts; empty: none yet
    bool loaded = false;
    bool busy = false;
    bool ended = false;
    int attempts = 0;
    size_t window = 0;       // bisected batch size (0: BatchSize)
    Scheduler::TimerId timer = 0;
  };

  std::string checkpoint_key(const std::string& shard) const {
    return key::KeyBuilder(m_["account"].get<std::string>(), m_["region"].get<std::string>())
        .str("cp").str(m_["UUID"].get<std::string>()).str(shard).take();
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
    size_t limit;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      auto it = shards_.find(shard);
      if (it == shards_.end()) return;
      ShardState& st = it->second;
      if (st.busy || st.ended || !parents_done(st)) return;
      st.busy = true;
      after = st.checkpoint;
      size_t batch = m_.value("BatchSize", 100);
      limit = st.window ? st.window : batch;
    }
    auto read = source_->read(shard, after, limit);
    if (!read.ok()) {
      set_result("PROBLEM: " + read.error().message);
      std::lock_guard lock(mu_);
      shards_[shard].busy = false;
      arm_poll(shard, kIdlePollMs);
      return;
    }
    StreamBatch batch = std::move(read).value();
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
      arm_poll(shard, kIdlePollMs);
      return;
    }
    process(shard, std::move(batch));
  }

  // Drops records past MaximumRecordAgeInSeconds and those the filters reject.
  void process(const std::string& shard, StreamBatch batch) {
    int max_age = m_.value("MaximumRecordAgeInSeconds", -1);
    int64_t now = env_.clock->now_ms();
    std::vector<StreamRecord> keep, expired;
    for (auto& r : batch.records) {
      if (max_age >= 0 && now - r.arrival_ms > int64_t{max_age} * 1000) {
        expired.push_back(std::move(r));
      } else if (!filters_.empty() &&
                 std::none_of(filters_.begin(), filters_.end(),
                              [&](const json& f) { return events::matches(f, r.filter_view); })) {
        continue;  // filtered out: processed, never delivered
      } else {
        keep.push_back(std::move(r));
      }
    }
    std::string last = batch.records.empty() ? std::string() : batch.records.back().sequence_number;
    if (!expired.empty()) send_failure(shard, expired, "RecordAgeExceeded", json());
    if (keep.empty()) {
      advance(shard, last, /*reset_attempts=*/true);
      return;
    }
    json event{{"Records", json::array()}};
    for (auto& r : keep) event["Records"].push_back(r.event);
    std::string payload = event.dump();
    auto self = shared_from_this();
    lambda_.invoke(InternalInvoke{m_["account"], m_["region"], m_["FunctionArn"], payload, /*async=*/false},
                   [self, shard, keep = std::move(keep), last](Outcome<host::InvokeResult> out) mutable {
                     self->on_result(shard, std::move(keep), last, std::move(out));
                   });
  }

  void on_result(const std::string& shard, std::vector<StreamRecord> batch, const std::string& last,
                 Outcome<host::InvokeResult> out) {
    bool ok = out.ok() && out.value().kind == host::InvokeResult::Kind::kOk;
    if (ok && partial_) {
      // {"batchItemFailures": [{"itemIdentifier": "<sequence number>"}]}: resume from the earliest.
      json answer = json::parse(out.value().payload, nullptr, false);
      std::string first_failed;
      if (answer.is_object()) {
        for (const auto& f : answer.value("batchItemFailures", json::array())) {
          std::string id = f.value("itemIdentifier", "");
          auto it = std::find_if(batch.begin(), batch.end(), [&](const StreamRecord& r) { return r.sequence_number == id; });
          if (it == batch.end()) {
            ok = false;  // an unknown identifier fails the whole batch, as Lambda does
            break;
          }
          if (first_failed.empty() || id < first_failed) first_failed = id;
        }
      }
      if (ok && !first_failed.empty()) {
        auto it = std::find_if(batch.begin(), batch.end(), [&](const StreamRecord& r) { return r.sequence_number == first_failed; });
        set_result("OK");
        retry_later(shard, "@" + first_failed);
        return;
      }
    }
    if (ok) {
      set_result("OK");
      advance(shard, last, /*reset_attempts=*/true);
      return;
    }
    std::string why = !out.ok() ? out.error().message : out.value().error_type;
    set_result("PROBLEM: Function call failed");
    int max_attempts = m_.value("MaximumRetryAttempts", -1);
    bool bisect = m_.value("BisectBatchOnFunctionError", false);
    int attempts;
    {
      std::lock_guard lock(mu_);
      ShardState& st = shards_[shard];
      attempts = ++st.attempts;
      if (bisect && batch.size() > 1) st.window = (batch.size() + 1) / 2;
    }
    if (max_attempts >= 0 && attempts > max_attempts) {
      json response = out.ok() ? json::parse(out.value().payload, nullptr, false) : json();
      send_failure(shard, batch, "RetryAttemptsExhausted", response);
      advance(shard, last, /*reset_attempts=*/true);
      return;
    }
    log::debug("event source {}: batch failed ({}), retrying", m_["UUID"].get<std::string>(), why);
    retry_later(shard, std::nullopt);
  }

  // Retries from the checkpoint (or from `resume_after`, a partial failure's restart point).
  void retry_later(const std::string& shard, std::optional<std::string> resume_after) {
    std::lock_guard lock(mu_);
    ShardState& st = shards_[shard];
    if (resume_after) {
      st.checkpoint = *resume_after;
      env_.store->put(family_, checkpoint_key(shard), st.checkpoint).ignore();
    }
    st.busy = false;
    int64_t delay = std::min<int64_t>(5000, 100LL << std::min(st.attempts, 6));
    arm_poll(shard, delay);
  }

  void advance(const std::string& shard, const std::string& last, bool reset_attempts) {
    std::lock_guard lock(mu_);
    ShardState& st = shards_[shard];
    if (!last.empty()) {
      st.checkpoint = "A" + last;
      env_.store->put(family_, checkpoint_key(shard), st.checkpoint).ignore();
    }
    if (reset_attempts) {
      st.attempts = 0;
      st.window = 0;
    }
    st.busy = false;
    env_.scheduler->post([self = shared_from_this(), shard] { self->poll(shard); });
  }

  void send_failure(const std::string& shard, const std::vector<StreamRecord>& records, const char* condition,
                    const json& response) {
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
                                        {"condition", condition}, {"approximateInvokeCount", shards_[shard].attempts}}},
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
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::map<std::string, ShardState> shards_;
  std::set<std::string> first_shards_;
  uint64_t watch_id_ = 0;
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

bool runner_supported(const std::string& service) { return service == "kinesis"; }

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
  return nullptr;
}

}  // namespace sless::services::lambda
