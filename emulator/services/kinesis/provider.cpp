// The provider's life cycle, stream lookup, and the stream-level operations (create, delete,
// describe, list, retention, tags, encryption, monitoring, limits, mode). Shard reshaping is in
// shards.cpp, consumers in consumers.cpp, records in records.cpp.
#include "services/kinesis/provider.h"

#include <algorithm>
#include <cstdlib>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "services/kinesis/internal.h"
#include "services/kinesis/sequence.h"
#include "services/kinesis/stream.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::kinesis {

using nlohmann::json;
using namespace detail;

namespace {

constexpr auto kSweepInterval = std::chrono::seconds(60);
const std::vector<std::string> kAllMetrics = {"IncomingBytes",   "IncomingRecords",
                                              "OutgoingBytes",   "OutgoingRecords",
                                              "WriteProvisionedThroughputExceeded",
                                              "ReadProvisionedThroughputExceeded",
                                              "IteratorAgeMilliseconds"};

std::string map_key(std::string_view account, std::string_view region, std::string_view name) {
  std::string k;
  k.reserve(account.size() + region.size() + name.size() + 2);
  k.append(account).push_back('/');
  k.append(region).push_back('/');
  k.append(name);
  return k;
}

bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

// arn:<partition>:kinesis:<region>:<account>:<resource>
struct Arn {
  std::string region;
  std::string account;
  std::string resource;
};

std::optional<Arn> parse_arn(std::string_view text) {
  std::vector<std::string_view> parts;
  for (int i = 0; i < 5; ++i) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    parts.push_back(text.substr(0, colon));
    text.remove_prefix(colon + 1);
  }
  if (parts[0] != "arn" || parts[2] != "kinesis" || text.empty()) return std::nullopt;
  return Arn{std::string(parts[3]), std::string(parts[4]), std::string(text)};
}

json tag_list(const std::map<std::string, std::string>& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) out.push_back({{"Key", k}, {"Value", v}});
  return out;
}

json mode_json(const Stream& s) { return {{"StreamMode", s.mode}}; }

json monitoring_json(const Stream& s) { return json::array({{{"ShardLevelMetrics", s.shard_level_metrics}}}); }

// Closed shards leave descriptions once their records are all past retention, as on AWS.
bool listed(const Stream& s, const Shard& shard, int64_t now_ms) {
  std::lock_guard lock(shard.mu);
  return !shard.closed || shard.closed_ms >= s.trim_horizon_ms(now_ms);
}

}  // namespace

namespace detail {

json hash_range_json(const Shard& shard) {
  return {{"StartingHashKey", to_decimal(shard.start)}, {"EndingHashKey", to_decimal(shard.end)}};
}

json shard_json(const Stream& s, const Shard& shard) {
  json j = {{"ShardId", shard.id}};
  if (shard.parent) j["ParentShardId"] = format_shard_id(*shard.parent);
  if (shard.adjacent_parent) j["AdjacentParentShardId"] = format_shard_id(*shard.adjacent_parent);
  j["HashKeyRange"] = hash_range_json(shard);
  json range = {{"StartingSequenceNumber", s.starting_sequence(shard)}};
  std::lock_guard lock(shard.mu);
  if (shard.closed) range["EndingSequenceNumber"] = s.ending_sequence(shard);
  j["SequenceNumberRange"] = std::move(range);
  return j;
}

std::string make_token(json body, int64_t now_ms) {
  body["t"] = now_ms;
  return enc::base64_encode(body.dump());
}

std::optional<json> read_token(std::string_view token) {
  auto raw = enc::base64_decode(token);
  if (!raw) return std::nullopt;
  json j = json::parse(*raw, nullptr, false);
  if (!j.is_object() || !j.contains("t") || !j["t"].is_number_integer()) return std::nullopt;
  return j;
}

}  // namespace detail

// --- life cycle ------------------------------------------------------------------------------

KinesisProvider::KinesisProvider() {
  auto sync = [this](const char* op, Result (KinesisProvider::*fn)(RequestContext&, json&)) {
    on_sync(op, [this, fn](RequestContext& ctx, json& p) { return (this->*fn)(ctx, p); });
  };
  sync("CreateStream", &KinesisProvider::create_stream);
  sync("DeleteStream", &KinesisProvider::delete_stream);
  sync("DescribeStream", &KinesisProvider::describe_stream);
  sync("DescribeStreamSummary", &KinesisProvider::describe_stream_summary);
  sync("ListStreams", &KinesisProvider::list_streams);
  sync("ListShards", &KinesisProvider::list_shards_op);
  on_sync("IncreaseStreamRetentionPeriod", [this](RequestContext& c, json& p) { return change_retention(c, p, true); });
  on_sync("DecreaseStreamRetentionPeriod", [this](RequestContext& c, json& p) { return change_retention(c, p, false); });
  sync("SplitShard", &KinesisProvider::split_shard);
  sync("MergeShards", &KinesisProvider::merge_shards);
  sync("UpdateShardCount", &KinesisProvider::update_shard_count);
  sync("UpdateStreamMode", &KinesisProvider::update_stream_mode);
  sync("AddTagsToStream", &KinesisProvider::add_tags);
  sync("RemoveTagsFromStream", &KinesisProvider::remove_tags);
  sync("ListTagsForStream", &KinesisProvider::list_tags);
  sync("TagResource", &KinesisProvider::tag_resource);
  sync("UntagResource", &KinesisProvider::untag_resource);
  sync("ListTagsForResource", &KinesisProvider::list_tags_for_resource);
  on_sync("StartStreamEncryption", [this](RequestContext& c, json& p) { return start_encryption(c, p, true); });
  on_sync("StopStreamEncryption", [this](RequestContext& c, json& p) { return start_encryption(c, p, false); });
  on_sync("EnableEnhancedMonitoring", [this](RequestContext& c, json& p) { return enhanced_monitoring(c, p, true); });
  on_sync("DisableEnhancedMonitoring", [this](RequestContext& c, json& p) { return enhanced_monitoring(c, p, false); });
  sync("DescribeLimits", &KinesisProvider::describe_limits);
  sync("RegisterStreamConsumer", &KinesisProvider::register_consumer);
  sync("DescribeStreamConsumer", &KinesisProvider::describe_consumer);
  sync("ListStreamConsumers", &KinesisProvider::list_consumers);
  sync("DeregisterStreamConsumer", &KinesisProvider::deregister_consumer);
  on("PutRecord", [this](Invocation&& inv) { put_record(std::move(inv)); });
  sync("PutRecords", &KinesisProvider::put_records);
  sync("GetShardIterator", &KinesisProvider::get_shard_iterator);
  sync("GetRecords", &KinesisProvider::get_records);
}

KinesisProvider::~KinesisProvider() { stop(); }

Status KinesisProvider::start(Env& env) {
  env_ = &env;
  if (const char* delay = std::getenv("SLESS_KINESIS_STATUS_DELAY_MS")) {
    transition_ms_ = std::max(0L, std::strtol(delay, nullptr, 10));
  }
  Status st = store_.open(env.store);
  if (!st.is_ok()) return st;
  int64_t now = env.clock->now_ms();
  std::vector<StreamPtr> loaded;
  st = store_.load_metas([&](std::string_view value) {
    json meta = json::parse(value, nullptr, false);
    std::unique_ptr<Stream> s = Stream::from_meta(meta);
    if (!s) {
      log::warn("kinesis: skipping unreadable stream metadata");
      return;
    }
    // Write positions come from the records themselves.
    std::string buffer;
    for (auto& shard : s->shards) {
      if (auto last = store_.last_record(shard->key_prefix, &buffer)) {
        shard->next_counter = std::max(shard->next_counter, last->counter + 1);
        shard->last_arrival_ms = last->arrival_ms;
      }
    }
    loaded.push_back(std::move(s));
  });
  if (!st.is_ok()) return st;
  {
    std::unique_lock lock(streams_mu_);
    for (auto& s : loaded) {
      streams_[map_key(s->account, s->region, s->name)] = s;
      by_uid_[s->uid] = s;
    }
  }
  for (auto& s : loaded) {
    if (s->status != StreamStatus::kDeleting) continue;
    if (s->gone_at(now)) {
      Status del = finish_delete(s);
      if (!del.is_ok()) log::warn("kinesis: deleting stream {}: {}", s->name, del.to_string());
    } else {
      uint64_t uid = s->uid;
      schedule(std::chrono::milliseconds(s->status_until_ms - now), [this, uid] {
        if (auto gone = find_uid(uid)) (void)finish_delete(gone).is_ok();
      });
    }
  }
  arm_sweep();
  log::debug("kinesis: {} streams loaded", loaded.size());
  return Status::ok();
}

void KinesisProvider::stop() {
  std::lock_guard lock(timers_mu_);
  if (stopped_) return;  // the registry stopped us before; the scheduler may be gone by now
  stopped_ = true;
  alive_->store(false);
  if (env_ && env_->scheduler) {
    for (auto id : timers_) env_->scheduler->cancel(id);
  }
  timers_.clear();
}

Status KinesisProvider::reset() {
  std::unique_lock lock(streams_mu_);
  streams_.clear();
  by_uid_.clear();
  return store_.family() ? store_.store()->clear(store_.family()) : Status::ok();
}

json KinesisProvider::describe() const {
  std::shared_lock lock(streams_mu_);
  return {{"streams", streams_.size()}};
}

void KinesisProvider::schedule(std::chrono::milliseconds delay, std::function<void()> task) {
  std::lock_guard lock(timers_mu_);
  if (stopped_ || !env_ || !env_->scheduler) return;
  auto id = std::make_shared<Scheduler::TimerId>(0);
  *id = env_->scheduler->after(std::max(delay, std::chrono::milliseconds(0)), [this, id, task = std::move(task)] {
    {
      std::lock_guard inner(timers_mu_);
      if (stopped_) return;
      timers_.erase(*id);
    }
    task();
  });
  timers_.insert(*id);
}

void KinesisProvider::arm_sweep() {
  schedule(std::chrono::duration_cast<std::chrono::milliseconds>(kSweepInterval), [this] {
    sweep_retention();
    arm_sweep();
  });
}

// --- lookup and persistence ------------------------------------------------------------------

Outcome<KinesisProvider::StreamPtr> KinesisProvider::find(std::string_view account, std::string_view region,
                                                          std::string_view name_or_arn, int64_t now_ms) const {
  std::string_view name = name_or_arn;
  if (enc::starts_with(name_or_arn, "arn:")) {
    auto arn = parse_arn(name_or_arn);
    if (!arn || !enc::starts_with(arn->resource, "stream/")) {
      return invalid_argument("Invalid StreamARN " + std::string(name_or_arn) + ".");
    }
    name = std::string_view(name_or_arn).substr(name_or_arn.size() - (arn->resource.size() - 7));
    if (arn->account != account || arn->region != region) return stream_not_found(name, account);
  }
  std::shared_lock lock(streams_mu_);
  auto it = streams_.find(map_key(account, region, name));
  if (it == streams_.end() || it->second->gone_at(now_ms)) return stream_not_found(name, account);
  return it->second;
}

Outcome<KinesisProvider::StreamPtr> KinesisProvider::find(const RequestContext& ctx, const json& p,
                                                          int64_t now_ms) const {
  auto name = p.find("StreamName");
  auto arn = p.find("StreamARN");
  bool has_name = name != p.end() && name->is_string();
  bool has_arn = arn != p.end() && arn->is_string();
  if (!has_name && !has_arn) {
    return ServiceError::validation("Either StreamName or StreamARN should be provided.");
  }
  if (has_arn) {
    auto s = find(ctx.account, ctx.region, arn->get_ref<const std::string&>(), now_ms);
    if (s.ok() && has_name && s.value()->name != name->get_ref<const std::string&>()) {
      return invalid_argument("StreamARN " + arn->get<std::string>() + " and StreamName " + name->get<std::string>() +
                              " do not name the same stream.");
    }
    return s;
  }
  return find(ctx.account, ctx.region, name->get_ref<const std::string&>(), now_ms);
}

KinesisProvider::StreamPtr KinesisProvider::find_uid(uint64_t uid) const {
  std::shared_lock lock(streams_mu_);
  auto it = by_uid_.find(uid);
  return it == by_uid_.end() ? nullptr : it->second;
}

Outcome<KinesisProvider::StreamPtr> KinesisProvider::find_by_arn(const RequestContext& ctx, std::string_view arn,
                                                                 int64_t now_ms) const {
  auto parsed = parse_arn(arn);
  if (!parsed || !enc::starts_with(parsed->resource, "stream/")) {
    return invalid_argument("Invalid ARN " + std::string(arn) + ".");
  }
  std::string_view rest = std::string_view(parsed->resource).substr(7);
  std::string_view stream = rest.substr(0, rest.find('/'));
  if (parsed->account != ctx.account || parsed->region != ctx.region) return stream_not_found(stream, ctx.account);
  return find(ctx.account, ctx.region, stream, now_ms);
}

Status KinesisProvider::save(const Stream& s, storage::WriteBatch& batch) {
  batch.put(store_.family(), StreamStore::meta_key(s.account, s.region, s.name), s.to_meta().dump());
  return store_.store()->write(batch);
}

Status KinesisProvider::save(const Stream& s) {
  storage::WriteBatch batch;
  return save(s, batch);
}

void KinesisProvider::begin_update(Stream& s, int64_t now_ms) const {
  if (transition_ms_ > 0) {
    s.status = StreamStatus::kUpdating;
    s.status_until_ms = now_ms + transition_ms_;
  } else {
    s.status = StreamStatus::kActive;
  }
}

KinesisProvider::Result KinesisProvider::commit(Stream& s, protocol::OperationOutput out) {
  if (s.deleted.load()) return stream_not_found(s.name, s.account);  // deleted while we waited for the lock
  Status st = save(s);
  if (!st.is_ok()) return ServiceError::internal("could not store the stream: " + st.to_string());
  return out;
}

Status KinesisProvider::finish_delete(const StreamPtr& s) {
  {
    // Waits for every holder of the lock (puts, sweeps, changes) and stops later ones.
    std::unique_lock lock(s->mu);
    if (s->deleted.exchange(true)) return Status::ok();
  }
  std::string prefix = StreamStore::stream_prefix(s->account, s->region, s->uid);
  storage::WriteBatch batch;
  {
    std::shared_lock lock(streams_mu_);
    auto it = streams_.find(map_key(s->account, s->region, s->name));
    // A stream of the same name created since owns the metadata key now.
    if (it != streams_.end() && it->second == s) {
      batch.del(store_.family(), StreamStore::meta_key(s->account, s->region, s->name));
    }
  }
  batch.delete_range(store_.family(), prefix, storage::key::prefix_end(prefix));
  Status st = store_.store()->write(batch);
  if (!st.is_ok()) {
    s->deleted = false;  // still there: a later sweep tries again
    return st;
  }
  std::unique_lock lock(streams_mu_);
  auto it = streams_.find(map_key(s->account, s->region, s->name));
  if (it != streams_.end() && it->second == s) streams_.erase(it);
  by_uid_.erase(s->uid);
  return Status::ok();
}

int KinesisProvider::open_shards_in(std::string_view account, std::string_view region, const Stream* except) const {
  std::vector<StreamPtr> all;
  {
    std::shared_lock lock(streams_mu_);
    for (const auto& [k, s] : streams_) {
      if (s->account == account && s->region == region && s.get() != except) all.push_back(s);
    }
  }
  int n = 0;
  for (const auto& s : all) {
    std::shared_lock lock(s->mu);
    n += static_cast<int>(s->open_shards.size());
  }
  return n;
}

// --- streams ---------------------------------------------------------------------------------

KinesisProvider::Result KinesisProvider::create_stream(RequestContext& ctx, json& p) {
  const std::string& name = p["StreamName"].get_ref<const std::string&>();
  if (!valid_stream_name(name)) {
    return ServiceError::validation("1 validation error detected: Value '" + name +
                                    "' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
                                    "expression pattern: [a-zA-Z0-9_.-]+");
  }
  bool has_count = p.contains("ShardCount");
  std::string mode = has_count ? "PROVISIONED" : "ON_DEMAND";
  if (auto details = p.find("StreamModeDetails"); details != p.end()) {
    mode = (*details)["StreamMode"].get<std::string>();
  }
  if (mode == "PROVISIONED" && !has_count) {
    return invalid_argument("ShardCount is required for a stream in PROVISIONED mode.");
  }
  if (mode == "ON_DEMAND" && has_count) {
    return invalid_argument("ShardCount cannot be specified for a stream in ON_DEMAND mode.");
  }
  int shards = has_count ? p["ShardCount"].get<int>() : kOnDemandShards;
  if (auto tags = p.find("Tags"); tags != p.end() && tags->size() > kMaxTags) {
    return invalid_argument("A stream cannot have more than " + std::to_string(kMaxTags) + " tags.");
  }
  int64_t now = env_->clock->now_ms();

  std::unique_lock lock(streams_mu_);  // one creation at a time: the name check and insert are one step
  std::string key = map_key(ctx.account, ctx.region, name);
  if (auto it = streams_.find(key); it != streams_.end() && !it->second->gone_at(now)) {
    return in_use("Stream " + name + " under account " + ctx.account + " already exists.");
  }
  int open = 0;
  int on_demand = 0;
  for (const auto& [k, s] : streams_) {
    if (s->account != ctx.account || s->region != ctx.region || s->gone_at(now)) continue;
    std::shared_lock slock(s->mu);
    open += static_cast<int>(s->open_shards.size());
    on_demand += s->mode == "ON_DEMAND";
  }
  if (open + shards > kShardLimit) {
    return limit_exceeded("This request would exceed the shard limit for the account " + ctx.account + " in " +
                          ctx.region + ". Current shard count for the account: " + std::to_string(open) +
                          ". Limit: " + std::to_string(kShardLimit) +
                          ". Number of additional shards that would have resulted from this request: " +
                          std::to_string(shards) + ".");
  }
  if (mode == "ON_DEMAND" && on_demand >= kOnDemandStreamLimit) {
    return limit_exceeded("This request would exceed the limit of " + std::to_string(kOnDemandStreamLimit) +
                          " on-demand streams for the account " + ctx.account + " in " + ctx.region + ".");
  }

  auto s = std::make_shared<Stream>();
  do {
    s->uid = ids::random_u64();
  } while (s->uid == 0 || by_uid_.count(s->uid));
  s->account = ctx.account;
  s->region = ctx.region;
  s->name = name;
  s->arn = ids::arn("kinesis", ctx.region, ctx.account, "stream/" + name);
  s->created_ms = now;
  s->status = transition_ms_ > 0 ? StreamStatus::kCreating : StreamStatus::kActive;
  s->status_until_ms = now + transition_ms_;
  s->mode = mode;
  if (auto kib = p.find("MaxRecordSizeInKiB"); kib != p.end()) s->max_record_kib = kib->get<int>();
  if (auto tags = p.find("Tags"); tags != p.end()) {
    for (const auto& [k, v] : tags->items()) s->tags[k] = v.get<std::string>();
  }
  auto n = static_cast<uint32_t>(shards);
  for (uint32_t i = 0; i < n; ++i) {
    s->add_shard(even_split_start(i, n), i + 1 < n ? even_split_start(i + 1, n) - 1 : kMaxHashKey, now);
  }
  s->index_open_shards();
  // A deleted stream of the same name whose removal is still pending goes in the same write.
  storage::WriteBatch batch;
  StreamPtr old;
  if (auto it = streams_.find(key); it != streams_.end()) {
    old = it->second;
    std::unique_lock old_lock(old->mu);
    old->deleted = true;
    std::string prefix = StreamStore::stream_prefix(old->account, old->region, old->uid);
    batch.delete_range(store_.family(), prefix, storage::key::prefix_end(prefix));
  }
  Status st = save(*s, batch);
  if (!st.is_ok()) {
    if (old) old->deleted = false;
    return ServiceError::internal("could not store the stream: " + st.to_string());
  }
  if (old) by_uid_.erase(old->uid);
  streams_[key] = s;
  by_uid_[s->uid] = s;
  return protocol::OperationOutput();
}

KinesisProvider::Result KinesisProvider::delete_stream(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  StreamPtr s = found.value();
  {
    std::unique_lock lock(s->mu);
    StreamStatus status = s->status_at(now);
    if (status == StreamStatus::kCreating) return not_active(*s, status);
    bool enforce = p.value("EnforceConsumerDeletion", false);
    bool has_consumers = std::any_of(s->consumers.begin(), s->consumers.end(),
                                     [](const Consumer& c) { return !c.deregistering; });
    if (has_consumers && !enforce) {
      return in_use("Stream " + s->name + " under account " + s->account +
                    " has registered consumers; set EnforceConsumerDeletion to delete it with them.");
    }
    if (status == StreamStatus::kDeleting) return protocol::OperationOutput();
    if (transition_ms_ > 0) {
      s->status = StreamStatus::kDeleting;
      s->status_until_ms = now + transition_ms_;
      Status st = save(*s);
      if (!st.is_ok()) return ServiceError::internal("could not store the stream: " + st.to_string());
    }
  }
  if (transition_ms_ > 0) {
    uint64_t uid = s->uid;
    schedule(std::chrono::milliseconds(transition_ms_), [this, uid] {
      if (auto gone = find_uid(uid)) {
        Status st = finish_delete(gone);
        if (!st.is_ok()) log::warn("kinesis: deleting a stream: {}", st.to_string());
      }
    });
    return protocol::OperationOutput();
  }
  Status st = finish_delete(s);
  if (!st.is_ok()) return ServiceError::internal("could not delete the stream: " + st.to_string());
  return protocol::OperationOutput();
}

KinesisProvider::Result KinesisProvider::describe_stream(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  const Stream& s = *found.value();
  size_t limit = p.value("Limit", 100);
  uint32_t after = 0;
  bool has_after = false;
  if (auto start = p.find("ExclusiveStartShardId"); start != p.end()) {
    auto idx = parse_shard_id(start->get<std::string>());
    if (idx) {
      after = *idx;
      has_after = true;
    }
  }
  std::shared_lock lock(s.mu);
  json shards = json::array();
  bool more = false;
  for (const auto& shard : s.shards) {
    if (has_after && shard->index <= after) continue;
    if (!listed(s, *shard, now)) continue;
    if (shards.size() == limit) {
      more = true;
      break;
    }
    shards.push_back(shard_json(s, *shard));
  }
  json d = {{"StreamName", s.name},
            {"StreamARN", s.arn},
            {"StreamStatus", to_string(s.status_at(now))},
            {"StreamModeDetails", mode_json(s)},
            {"Shards", std::move(shards)},
            {"HasMoreShards", more},
            {"RetentionPeriodHours", s.retention_hours},
            {"StreamCreationTimestamp", seconds(s.created_ms)},
            {"EnhancedMonitoring", monitoring_json(s)},
            {"EncryptionType", s.encryption_type}};
  if (!s.key_id.empty()) d["KeyId"] = s.key_id;
  return protocol::OperationOutput(json{{"StreamDescription", std::move(d)}});
}

KinesisProvider::Result KinesisProvider::describe_stream_summary(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  const Stream& s = *found.value();
  std::shared_lock lock(s.mu);
  size_t consumers = std::count_if(s.consumers.begin(), s.consumers.end(),
                                   [&](const Consumer& c) { return !(c.deregistering && now >= c.ready_ms); });
  json d = {{"StreamName", s.name},
            {"StreamARN", s.arn},
            {"StreamStatus", to_string(s.status_at(now))},
            {"StreamModeDetails", mode_json(s)},
            {"RetentionPeriodHours", s.retention_hours},
            {"StreamCreationTimestamp", seconds(s.created_ms)},
            {"EnhancedMonitoring", monitoring_json(s)},
            {"EncryptionType", s.encryption_type},
            {"OpenShardCount", s.open_shards.size()},
            {"ConsumerCount", consumers},
            {"MaxRecordSizeInKiB", s.max_record_kib}};
  if (!s.key_id.empty()) d["KeyId"] = s.key_id;
  return protocol::OperationOutput(json{{"StreamDescriptionSummary", std::move(d)}});
}

KinesisProvider::Result KinesisProvider::list_streams(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  size_t limit = p.value("Limit", 100);
  std::string after = p.value("ExclusiveStartStreamName", "");
  if (auto token = p.find("NextToken"); token != p.end()) {
    auto body = read_token(token->get<std::string>());
    if (!body || !body->contains("after") || !(*body)["after"].is_string()) {
      return invalid_argument("Invalid NextToken.");
    }
    if (now - (*body)["t"].get<int64_t>() > kIteratorLifetimeMs) {
      return ServiceError("ExpiredNextTokenException", "The NextToken has expired.");
    }
    after = (*body)["after"].get<std::string>();
  }
  std::vector<StreamPtr> mine;
  {
    std::shared_lock lock(streams_mu_);
    for (const auto& [k, s] : streams_) {
      if (s->account == ctx.account && s->region == ctx.region && !s->gone_at(now) && s->name > after) {
        mine.push_back(s);
      }
    }
  }
  std::sort(mine.begin(), mine.end(), [](const StreamPtr& a, const StreamPtr& b) { return a->name < b->name; });
  json names = json::array();
  json summaries = json::array();
  bool more = mine.size() > limit;
  if (more) mine.resize(limit);
  for (const auto& s : mine) {
    std::shared_lock lock(s->mu);
    names.push_back(s->name);
    summaries.push_back({{"StreamName", s->name},
                         {"StreamARN", s->arn},
                         {"StreamStatus", to_string(s->status_at(now))},
                         {"StreamModeDetails", mode_json(*s)},
                         {"StreamCreationTimestamp", seconds(s->created_ms)}});
  }
  json out = {{"StreamNames", std::move(names)}, {"HasMoreStreams", more}, {"StreamSummaries", std::move(summaries)}};
  if (more) out["NextToken"] = make_token({{"after", mine.back()->name}}, now);
  return protocol::OperationOutput(std::move(out));
}

KinesisProvider::Result KinesisProvider::change_retention(RequestContext& ctx, json& p, bool increase) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  int hours = p["RetentionPeriodHours"].get<int>();
  std::string requested = "Requested retention period (" + std::to_string(hours) + " hours)";
  if (hours < kMinRetentionHours) {
    return invalid_argument("Minimum allowed retention period is " + std::to_string(kMinRetentionHours) +
                            " hours. " + requested + " is too short.");
  }
  if (hours > kMaxRetentionHours) {
    return invalid_argument("Maximum allowed retention period is " + std::to_string(kMaxRetentionHours) +
                            " hours. " + requested + " is too long.");
  }
  std::unique_lock lock(s.mu);
  StreamStatus status = s.status_at(now);
  if (status != StreamStatus::kActive) return not_active(s, status);
  if (increase && hours < s.retention_hours) {
    return invalid_argument(requested + " for stream " + s.name + " can not be shorter than existing retention period (" +
                            std::to_string(s.retention_hours) + " hours). Use DecreaseRetentionPeriod API.");
  }
  if (!increase && hours > s.retention_hours) {
    return invalid_argument(requested + " for stream " + s.name + " can not be longer than existing retention period (" +
                            std::to_string(s.retention_hours) + " hours). Use IncreaseRetentionPeriod API.");
  }
  s.retention_hours = hours;
  begin_update(s, now);
  return commit(s);
}

KinesisProvider::Result KinesisProvider::update_stream_mode(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  std::string mode = p["StreamModeDetails"]["StreamMode"].get<std::string>();
  std::unique_lock lock(s.mu);
  StreamStatus status = s.status_at(now);
  if (status != StreamStatus::kActive) return not_active(s, status);
  if (mode == s.mode) {
    return invalid_argument("Stream " + s.name + " under account " + s.account + " is already in " + mode + " mode.");
  }
  s.mode = mode;
  begin_update(s, now);
  return commit(s);
}

// --- tags ------------------------------------------------------------------------------------

namespace {

// Adds tags, or says why it cannot (too many for one resource).
std::optional<ServiceError> merge_tags(std::map<std::string, std::string>& into, const json& tags,
                                       const std::string& what) {
  std::map<std::string, std::string> merged = into;
  for (const auto& [k, v] : tags.items()) merged[k] = v.is_string() ? v.get<std::string>() : std::string();
  if (merged.size() > kMaxTags) {
    return invalid_argument("Failed to add tags to " + what + " because a resource cannot have more than " +
                            std::to_string(kMaxTags) + " tags.");
  }
  into = std::move(merged);
  return std::nullopt;
}

}  // namespace

KinesisProvider::Result KinesisProvider::add_tags(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  std::unique_lock lock(s.mu);
  if (auto err = merge_tags(s.tags, p["Tags"], "stream " + s.name + " under account " + s.account)) return *err;
  return commit(s);
}

KinesisProvider::Result KinesisProvider::remove_tags(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  std::unique_lock lock(s.mu);
  for (const auto& k : p["TagKeys"]) s.tags.erase(k.get<std::string>());
  return commit(s);
}

KinesisProvider::Result KinesisProvider::list_tags(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  const Stream& s = *found.value();
  size_t limit = p.value("Limit", kMaxTags);
  std::string after = p.value("ExclusiveStartTagKey", "");
  std::shared_lock lock(s.mu);
  json tags = json::array();
  bool more = false;
  for (auto it = after.empty() ? s.tags.begin() : s.tags.upper_bound(after); it != s.tags.end(); ++it) {
    if (tags.size() == limit) {
      more = true;
      break;
    }
    tags.push_back({{"Key", it->first}, {"Value", it->second}});
  }
  return protocol::OperationOutput(json{{"Tags", std::move(tags)}, {"HasMoreTags", more}});
}

namespace {

// The tag map a resource ARN names: the stream's, or one of its consumers'.
std::map<std::string, std::string>* tags_of(Stream& s, std::string_view arn) {
  if (arn == s.arn) return &s.tags;
  for (auto& c : s.consumers) {
    if (c.arn == arn && !c.deregistering) return &c.tags;
  }
  return nullptr;
}

}  // namespace

KinesisProvider::Result KinesisProvider::tag_resource(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  const std::string& arn = p["ResourceARN"].get_ref<const std::string&>();
  auto found = find_by_arn(ctx, arn, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  std::unique_lock lock(s.mu);
  auto* tags = tags_of(s, arn);
  if (!tags) return ServiceError("ResourceNotFoundException", "Resource " + arn + " not found.");
  if (auto err = merge_tags(*tags, p["Tags"], arn)) return *err;
  return commit(s);
}

KinesisProvider::Result KinesisProvider::untag_resource(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  const std::string& arn = p["ResourceARN"].get_ref<const std::string&>();
  auto found = find_by_arn(ctx, arn, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  std::unique_lock lock(s.mu);
  auto* tags = tags_of(s, arn);
  if (!tags) return ServiceError("ResourceNotFoundException", "Resource " + arn + " not found.");
  for (const auto& k : p["TagKeys"]) tags->erase(k.get<std::string>());
  return commit(s);
}

KinesisProvider::Result KinesisProvider::list_tags_for_resource(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  const std::string& arn = p["ResourceARN"].get_ref<const std::string&>();
  auto found = find_by_arn(ctx, arn, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  std::shared_lock lock(s.mu);
  auto* tags = tags_of(s, arn);
  if (!tags) return ServiceError("ResourceNotFoundException", "Resource " + arn + " not found.");
  return protocol::OperationOutput(json{{"Tags", tag_list(*tags)}});
}

// --- encryption, monitoring, limits -----------------------------------------------------------

KinesisProvider::Result KinesisProvider::start_encryption(RequestContext& ctx, json& p, bool start) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  std::string type = p["EncryptionType"].get<std::string>();
  if (type != "KMS") {
    return invalid_argument("Encryption type " + type + " is not supported; use KMS.");
  }
  std::unique_lock lock(s.mu);
  StreamStatus status = s.status_at(now);
  if (status != StreamStatus::kActive) return not_active(s, status);
  s.encryption_type = start ? "KMS" : "NONE";
  s.key_id = start ? p["KeyId"].get<std::string>() : std::string();
  begin_update(s, now);
  return commit(s);
}

KinesisProvider::Result KinesisProvider::enhanced_monitoring(RequestContext& ctx, json& p, bool enable) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  std::vector<std::string> asked;
  for (const auto& m : p["ShardLevelMetrics"]) {
    if (m == "ALL") {
      asked = kAllMetrics;
      break;
    }
    asked.push_back(m.get<std::string>());
  }
  std::unique_lock lock(s.mu);
  std::vector<std::string> current = s.shard_level_metrics;
  std::vector<std::string> desired;
  for (const auto& m : kAllMetrics) {
    bool had = std::find(current.begin(), current.end(), m) != current.end();
    bool named = std::find(asked.begin(), asked.end(), m) != asked.end();
    if (enable ? (had || named) : (had && !named)) desired.push_back(m);
  }
  s.shard_level_metrics = desired;
  return commit(s, json{{"StreamName", s.name},
                        {"StreamARN", s.arn},
                        {"CurrentShardLevelMetrics", current},
                        {"DesiredShardLevelMetrics", desired}});
}

KinesisProvider::Result KinesisProvider::describe_limits(RequestContext& ctx, json&) {
  int64_t now = env_->clock->now_ms();
  std::vector<StreamPtr> mine;
  {
    std::shared_lock lock(streams_mu_);
    for (const auto& [k, s] : streams_) {
      if (s->account == ctx.account && s->region == ctx.region && !s->gone_at(now)) mine.push_back(s);
    }
  }
  int open = 0;
  int on_demand = 0;
  for (const auto& s : mine) {
    std::shared_lock lock(s->mu);
    open += static_cast<int>(s->open_shards.size());
    on_demand += s->mode == "ON_DEMAND";
  }
  return protocol::OperationOutput(json{{"ShardLimit", kShardLimit},
                                        {"OpenShardCount", open},
                                        {"OnDemandStreamCount", on_demand},
                                        {"OnDemandStreamCountLimit", kOnDemandStreamLimit}});
}

}  // namespace sless::services::kinesis
