// Records: PutRecord, PutRecords, GetShardIterator, GetRecords, the in-process reading API,
// commit notifications and the retention sweep.
//
// A write holds the stream's lock shared (so the shard layout cannot change under it) and the
// shard's lock while it takes counters and writes to the store, then moves the shard's
// next_counter past them: a reader that sees next_counter sees every record below it.
#include <algorithm>
#include <cmath>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/time_format.h"
#include "services/kinesis/internal.h"
#include "services/kinesis/provider.h"
#include "services/kinesis/sequence.h"
#include "services/kinesis/stream.h"
#include "storage/store.h"

namespace sless::services::kinesis {

using nlohmann::json;
using namespace detail;

namespace {

ServiceError data_too_large(const std::string& path, size_t limit) {
  return ServiceError::validation("1 validation error detected: Value at '" + path +
                                  "' failed to satisfy constraint: Member must have length less than or equal to " +
                                  std::to_string(limit));
}

// Decodes and checks one record of a put (`path` names it in messages).
Outcome<PendingRecord> prepare(const json& r, size_t max_bytes, const std::string& path) {
  PendingRecord out;
  const std::string& data = r["Data"].get_ref<const std::string&>();
  if (data.size() / 4 * 3 > max_bytes + 3) return data_too_large(path + "data", max_bytes);
  auto bytes = enc::base64_decode(data);
  if (!bytes) return ServiceError("SerializationException", "Base64 encoded binary data expected for " + path + "data");
  if (bytes->size() > max_bytes) return data_too_large(path + "data", max_bytes);
  out.data = std::move(*bytes);
  out.partition_key = r["PartitionKey"].get<std::string>();
  if (auto explicit_key = r.find("ExplicitHashKey"); explicit_key != r.end()) {
    const std::string& text = explicit_key->get_ref<const std::string&>();
    auto key = parse_hash_key(text);
    if (!key) {
      return invalid_argument("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                              "Specified value was " + text);
    }
    out.hash = *key;
  } else {
    out.hash = hash_of_partition_key(out.partition_key);
  }
  return out;
}

// "Thu Jan 22 01:22:02 UTC 2015", as AWS words iterator times.
std::string amz_time(int64_t ms) {
  std::string rfc = timefmt::rfc822(ms);  // "Thu, 22 Jan 2015 01:22:02 GMT"
  if (rfc.size() < 29) return rfc;
  return rfc.substr(0, 3) + " " + rfc.substr(8, 3) + " " + rfc.substr(5, 2) + " " + rfc.substr(17, 8) + " UTC " +
         rfc.substr(12, 4);
}

}  // namespace

// --- writing ---------------------------------------------------------------------------------

namespace {

// Where a write moved one shard: counters [first, next) were written.
struct ShardCommit {
  Shard* shard;
  uint64_t first;
  uint64_t next;
  int64_t arrival;
};

// Writes records to the shards their hash keys fall in, in one WriteBatch, in the given order
// per shard, and publishes the shards' new positions; fills each record's shard and counter.
// The caller holds the stream's lock (shared). Shards are locked in index order, so concurrent
// writers never deadlock; a failed write leaves every position as it was.
Status write_records(storage::Store& store, storage::Family* family, const Stream& s,
                     std::vector<PendingRecord>& records, int64_t now_ms, std::vector<ShardCommit>* commits) {
  std::vector<Shard*> shards;
  for (auto& r : records) {
    r.shard = s.shard_for(r.hash);
    shards.push_back(r.shard);
  }
  std::sort(shards.begin(), shards.end(), [](const Shard* a, const Shard* b) { return a->index < b->index; });
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(shards.size());
  commits->clear();
  for (Shard* sh : shards) {
    locks.emplace_back(sh->mu);
    commits->push_back({sh, sh->next_counter, sh->next_counter, std::max(now_ms, sh->last_arrival_ms)});
  }
  auto commit_of = [&](const Shard* sh) -> ShardCommit& {
    return *std::find_if(commits->begin(), commits->end(), [sh](const ShardCommit& c) { return c.shard == sh; });
  };
  storage::WriteBatch batch;
  std::string key;
  std::string value;
  for (auto& r : records) {
    ShardCommit& c = commit_of(r.shard);
    r.counter = c.next++;
    key.assign(r.shard->key_prefix);
    key.append(StreamStore::record_suffix(r.counter));
    value.clear();
    StreamStore::encode_record(value, c.arrival, r.partition_key, r.data);
    batch.put(family, key, value);
  }
  Status st = store.write(batch);
  if (!st.is_ok()) return st;
  for (const auto& c : *commits) {
    c.shard->next_counter = c.next;
    c.shard->last_arrival_ms = c.arrival;
  }
  return Status::ok();
}

}  // namespace

void KinesisProvider::put_record(Invocation&& inv) {
  json& p = inv.params;
  int64_t now = env_->clock->now_ms();
  auto found = find(inv.ctx, p, now);
  if (!found.ok()) return inv.done(std::move(found).error());
  StreamPtr stream = found.value();
  Stream& s = *stream;
  if (auto ordering = p.find("SequenceNumberForOrdering"); ordering != p.end()) {
    if (!parse_sequence(ordering->get_ref<const std::string&>())) {
      return inv.done(invalid_argument("ExclusiveMinimumSequenceNumber " + ordering->get<std::string>() +
                                       " used in PutRecord on stream " + s.name + " under account " + s.account +
                                       " is invalid."));
    }
  }
  size_t max_bytes;
  {
    std::shared_lock lock(s.mu);
    if (!s.usable_at(now)) return inv.done(stream_not_found(s.name, s.account));
    max_bytes = static_cast<size_t>(s.max_record_kib) * 1024;
  }
  auto prepared = prepare(p, max_bytes, "");
  if (!prepared.ok()) return inv.done(std::move(prepared).error());
  PendingRecord r = std::move(prepared).value();
  r.finish = [stream, done = std::move(inv.done)](const PendingRecord& w, bool kms, const std::string& error) {
    if (error == "ResourceNotFoundException") return done(stream_not_found(stream->name, stream->account));
    if (!error.empty()) {
      return done(ServiceError("InternalFailureException", "Could not store the record.", 500, false));
    }
    json out = {{"ShardId", w.shard->id},
                {"SequenceNumber", format_sequence({stream->created_ms, w.shard->index, w.counter})}};
    if (kms) out["EncryptionType"] = "KMS";
    done(protocol::OperationOutput(std::move(out)));
  };
  // Group commit: records that arrive while a commit is on its way share the next one (one
  // WriteBatch, one WAL append); each is answered after it is written.
  bool post;
  {
    std::lock_guard lock(s.queue_mu);
    s.queue.push_back(std::move(r));
    post = !s.flush_posted;
    s.flush_posted = true;
  }
  if (post) post_flush(stream);
}

void KinesisProvider::post_flush(const StreamPtr& stream) {
  env_->scheduler->post([this, alive = alive_, stream] {
    if (alive->load()) flush(stream);
  });
}

void KinesisProvider::flush(const StreamPtr& stream) {
  Stream& s = *stream;
  std::vector<PendingRecord> records;
  {
    std::lock_guard lock(s.queue_mu);
    records.swap(s.queue);
  }
  if (!records.empty()) {
    int64_t now = env_->clock->now_ms();
    std::vector<ShardCommit> commits;
    std::string error;
    bool kms = false;
    {
      std::shared_lock lock(s.mu);
      if (!s.usable_at(now)) {
        error = "ResourceNotFoundException";
      } else {
        kms = s.encryption_type == "KMS";
        Status st = write_records(*store_.store(), store_.family(), s, records, now, &commits);
        if (!st.is_ok()) {
          log::warn("kinesis: writing {} records to {} failed: {}", records.size(), s.name, st.to_string());
          error = "InternalFailure";
          commits.clear();
        }
      }
    }
    for (const auto& c : commits) notify(s, *c.shard, c.next - 1, c.next - c.first);
    for (const auto& r : records) r.finish(r, kms, error);
  }
  // Records that came in meanwhile get a commit of their own, after the others' turns.
  bool again;
  {
    std::lock_guard lock(s.queue_mu);
    again = !s.queue.empty();
    s.flush_posted = again;
  }
  if (again) post_flush(stream);
}

KinesisProvider::Result KinesisProvider::put_records(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  const json& records = p["Records"];
  std::shared_lock lock(s.mu);
  if (!s.usable_at(now)) return stream_not_found(s.name, s.account);
  size_t max_bytes = static_cast<size_t>(s.max_record_kib) * 1024;
  std::vector<PendingRecord> pending;
  pending.reserve(records.size());
  size_t total = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    auto prepared = prepare(records[i], max_bytes, "records." + std::to_string(i + 1) + ".member.");
    if (!prepared.ok()) return std::move(prepared).error();
    total += prepared.value().data.size() + prepared.value().partition_key.size();
    if (total > kMaxPutRecordsBytes) return invalid_argument("Records size exceeds 5 MB limit");
    pending.push_back(std::move(prepared).value());
  }
  std::vector<ShardCommit> commits;
  Status st = write_records(*store_.store(), store_.family(), s, pending, now, &commits);
  json results = json::array();
  if (!st.is_ok()) {
    log::warn("kinesis: PutRecords to {} failed: {}", s.name, st.to_string());
    for (size_t i = 0; i < pending.size(); ++i) {
      results.push_back({{"ErrorCode", "InternalFailure"}, {"ErrorMessage", "Internal service failure."}});
    }
    return protocol::OperationOutput(json{{"FailedRecordCount", pending.size()}, {"Records", std::move(results)}});
  }
  bool kms = s.encryption_type == "KMS";
  lock.unlock();  // listeners run outside every lock
  for (const auto& c : commits) notify(s, *c.shard, c.next - 1, c.next - c.first);
  for (const auto& r : pending) {
    results.push_back({{"SequenceNumber", format_sequence({s.created_ms, r.shard->index, r.counter})},
                       {"ShardId", r.shard->id}});
  }
  json out = {{"FailedRecordCount", 0}, {"Records", std::move(results)}};
  if (kms) out["EncryptionType"] = "KMS";
  return protocol::OperationOutput(std::move(out));
}

uint64_t KinesisProvider::add_commit_listener(CommitListener listener) {
  std::lock_guard lock(listeners_mu_);
  auto copy = std::make_shared<Listeners>(*listeners_);
  uint64_t id = ++next_listener_;
  copy->emplace_back(id, std::move(listener));
  listeners_ = std::move(copy);
  has_listeners_.store(true, std::memory_order_release);
  return id;
}

void KinesisProvider::remove_commit_listener(uint64_t id) {
  std::lock_guard lock(listeners_mu_);
  auto copy = std::make_shared<Listeners>(*listeners_);
  copy->erase(std::remove_if(copy->begin(), copy->end(), [id](const auto& l) { return l.first == id; }), copy->end());
  has_listeners_.store(!copy->empty(), std::memory_order_release);
  listeners_ = std::move(copy);
}

void KinesisProvider::notify(const Stream& s, const Shard& shard, uint64_t last_counter, size_t count) const {
  if (!has_listeners_.load(std::memory_order_acquire)) return;
  std::shared_ptr<const Listeners> listeners;
  {
    std::lock_guard lock(listeners_mu_);
    listeners = listeners_;
  }
  CommitEvent e{s.account, s.region, s.name, s.arn, shard.id, format_sequence({s.created_ms, shard.index, last_counter}),
                count};
  for (const auto& [id, listener] : *listeners) {
    try {
      listener(e);
    } catch (const std::exception& ex) {
      log::error("kinesis: a commit listener threw: {}", ex.what());
    }
  }
}

// --- reading ---------------------------------------------------------------------------------

Outcome<const Shard*> KinesisProvider::shard_named(const Stream& s, std::string_view shard_id) {
  auto idx = parse_shard_id(shard_id);
  const Shard* shard = idx ? s.shard(*idx) : nullptr;
  if (!shard) return shard_not_found(shard_id, s.name, s.account);
  return shard;
}

std::vector<const Shard*> KinesisProvider::children_of(const Stream& s, const Shard& parent) {
  std::vector<const Shard*> out;
  for (const auto& child : s.shards) {
    if ((child->parent && *child->parent == parent.index) ||
        (child->adjacent_parent && *child->adjacent_parent == parent.index)) {
      out.push_back(child.get());
    }
  }
  return out;
}

Outcome<uint64_t> KinesisProvider::resolve(const Stream& s, const Shard& shard, const ReadPosition& pos,
                                           int64_t now_ms, std::string_view op) const {
  uint64_t tip;
  uint64_t trimmed;
  {
    std::lock_guard lock(shard.mu);
    tip = shard.next_counter;
    trimmed = shard.trimmed_below;
  }
  switch (pos.from) {
    case ReadFrom::kLatest: return tip;
    case ReadFrom::kTrimHorizon:
      return store_.first_at_or_after(shard.key_prefix, trimmed, tip, s.trim_horizon_ms(now_ms));
    case ReadFrom::kAtTimestamp:
      return store_.first_at_or_after(shard.key_prefix, trimmed, tip,
                                      std::max(pos.timestamp_ms, s.trim_horizon_ms(now_ms)));
    case ReadFrom::kAtSequence:
    case ReadFrom::kAfterSequence: {
      auto seq = parse_sequence(pos.sequence_number);
      std::string where = " used in " + std::string(op) + " on shard " + shard.id + " in stream " + s.name +
                          " under account " + s.account;
      if (!seq) return invalid_argument("StartingSequenceNumber " + pos.sequence_number + where + " is invalid.");
      if (seq->shard_index != shard.index) {
        return invalid_argument("Invalid StartingSequenceNumber. It encodes " + format_shard_id(seq->shard_index) +
                                ", while it was used in a call to a shard with " + shard.id);
      }
      if (seq->stream_created_ms != s.created_ms) {
        return invalid_argument("StartingSequenceNumber " + pos.sequence_number + where +
                                " is invalid because it did not come from this stream.");
      }
      return pos.from == ReadFrom::kAtSequence ? seq->counter : seq->counter + 1;
    }
  }
  return tip;
}

Outcome<KinesisProvider::ReadBatch> KinesisProvider::read(const Stream& s, const Shard& shard, uint64_t from,
                                                          size_t limit, int64_t now_ms,
                                                          const RecordVisitor& visit) const {
  uint64_t tip;
  bool closed;
  {
    std::lock_guard lock(shard.mu);
    tip = shard.next_counter;
    closed = shard.closed;
    from = std::max(from, shard.trimmed_below);
  }
  int64_t horizon = s.trim_horizon_ms(now_ms);
  ReadBatch batch;
  uint64_t last = 0;
  size_t bytes = 0;
  std::optional<int64_t> next_arrival;  // arrival of the first record left unread
  bool expired_seen = false;
  auto take = [&](const RecordView& r) {
    if (r.arrival_ms < horizon) {
      expired_seen = true;  // past retention, not swept yet: jump over the rest of them
      return false;
    }
    size_t size = r.data.size() + r.partition_key.size();
    if (batch.count >= limit || (batch.count > 0 && bytes + size > kMaxGetRecordsBytes)) {
      next_arrival = r.arrival_ms;
      return false;
    }
    bytes += size;
    ++batch.count;
    last = r.counter;
    visit(r);
    return true;
  };
  Status st = store_.scan(shard.key_prefix, from, tip, take);
  if (st.is_ok() && expired_seen && batch.count == 0) {
    from = store_.first_at_or_after(shard.key_prefix, from, tip, horizon);
    st = store_.scan(shard.key_prefix, from, tip, take);
  }
  if (!st.is_ok()) {
    return ServiceError("InternalFailureException", "Could not read the shard: " + st.to_string(), 500, false);
  }
  batch.next = batch.count == 0 ? from : last + 1;
  batch.ended = closed && batch.next >= tip;
  batch.millis_behind = next_arrival ? std::max<int64_t>(0, now_ms - *next_arrival) : 0;
  return batch;
}

KinesisProvider::Result KinesisProvider::get_shard_iterator(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  const Stream& s = *found.value();
  const std::string& type = p["ShardIteratorType"].get_ref<const std::string&>();
  const std::string& shard_id = p["ShardId"].get_ref<const std::string&>();
  ReadPosition pos;
  bool has_seq = p.contains("StartingSequenceNumber");
  bool by_seq = type == "AT_SEQUENCE_NUMBER" || type == "AFTER_SEQUENCE_NUMBER";
  if (has_seq != by_seq) {
    return invalid_argument("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                            "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                            "Request specified " + type + (has_seq ? " and also a StartingSequenceNumber." :
                                                                     " and no StartingSequenceNumber."));
  }
  if (type == "AT_TIMESTAMP") {
    if (!p.contains("Timestamp")) {
      return invalid_argument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                              "Current request has no timestamp parameter.");
    }
    pos.from = ReadFrom::kAtTimestamp;
    pos.timestamp_ms = std::llround(p["Timestamp"].get<double>() * 1000.0);
  } else if (p.contains("Timestamp")) {
    return invalid_argument("Timestamp is only allowed with ShardIteratorType AT_TIMESTAMP.");
  } else if (type == "TRIM_HORIZON") {
    pos.from = ReadFrom::kTrimHorizon;
  } else if (type == "LATEST") {
    pos.from = ReadFrom::kLatest;
  } else {
    pos.from = type == "AT_SEQUENCE_NUMBER" ? ReadFrom::kAtSequence : ReadFrom::kAfterSequence;
    pos.sequence_number = p["StartingSequenceNumber"].get<std::string>();
  }
  std::shared_lock lock(s.mu);
  if (!s.usable_at(now)) return stream_not_found(s.name, s.account);
  auto named = shard_named(s, shard_id);
  if (!named.ok()) return std::move(named).error();
  const Shard* shard = named.value();
  auto at = resolve(s, *shard, pos, now, "GetShardIterator");
  if (!at.ok()) return std::move(at).error();
  return protocol::OperationOutput(
      json{{"ShardIterator", format_iterator({s.uid, shard->index, at.value(), now})}});
}

KinesisProvider::Result KinesisProvider::get_records(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto it = parse_iterator(p["ShardIterator"].get_ref<const std::string&>());
  if (!it) return invalid_argument("Invalid ShardIterator.");
  if (now - it->created_ms > kIteratorLifetimeMs) {
    return ServiceError("ExpiredIteratorException",
                        "Iterator expired. The iterator was created at time " + amz_time(it->created_ms) +
                            " while right now it is " + amz_time(now) +
                            " which is further in the future than the tolerated delay of " +
                            std::to_string(kIteratorLifetimeMs) + " milliseconds.");
  }
  StreamPtr stream = find_uid(it->stream_uid);
  if (!stream || stream->account != ctx.account || stream->region != ctx.region || stream->gone_at(now)) {
    return ServiceError("ResourceNotFoundException", "Shard " + format_shard_id(it->shard_index) +
                                                         " in the stream of this iterator under account " +
                                                         ctx.account + " does not exist");
  }
  const Stream& s = *stream;
  size_t limit = p.value("Limit", 10000);
  std::shared_lock lock(s.mu);
  if (!s.usable_at(now)) return stream_not_found(s.name, s.account);
  const Shard* shard = s.shard(it->shard_index);
  if (!shard) return shard_not_found(format_shard_id(it->shard_index), s.name, s.account);
  bool kms = s.encryption_type == "KMS";
  json records = json::array();
  std::string sequence = format_sequence({s.created_ms, shard->index, 0});
  auto read_out = read(s, *shard, it->position, limit, now, [&](const RecordView& r) {
    json rec = json::object();
    set_sequence_counter(sequence, r.counter);
    rec["SequenceNumber"] = sequence;
    rec["ApproximateArrivalTimestamp"] = seconds(r.arrival_ms);
    rec["Data"] = enc::base64_encode(r.data);
    rec["PartitionKey"] = r.partition_key;
    if (kms) rec["EncryptionType"] = "KMS";
    records.push_back(std::move(rec));
  });
  if (!read_out.ok()) return std::move(read_out).error();
  ReadBatch& batch = read_out.value();
  json out = {{"Records", std::move(records)}, {"MillisBehindLatest", batch.millis_behind}};
  if (batch.ended) {
    json children = json::array();
    for (const Shard* child : children_of(s, *shard)) {
      json parents = json::array();
      if (child->parent) parents.push_back(format_shard_id(*child->parent));
      if (child->adjacent_parent) parents.push_back(format_shard_id(*child->adjacent_parent));
      children.push_back({{"ShardId", child->id}, {"ParentShards", std::move(parents)},
                          {"HashKeyRange", hash_range_json(*child)}});
    }
    out["ChildShards"] = std::move(children);
  } else {
    out["NextShardIterator"] = format_iterator({s.uid, shard->index, batch.next, now});
  }
  return protocol::OperationOutput(std::move(out));
}

// --- the in-process API ----------------------------------------------------------------------

Outcome<std::vector<ShardSummary>> KinesisProvider::list_shards(std::string_view account, std::string_view region,
                                                                std::string_view stream) const {
  int64_t now = env_->clock->now_ms();
  auto found = find(account, region, stream, now);
  if (!found.ok()) return std::move(found).error();
  const Stream& s = *found.value();
  std::shared_lock lock(s.mu);
  std::vector<ShardSummary> out;
  int64_t horizon = s.trim_horizon_ms(now);
  for (const auto& shard : s.shards) {
    ShardSummary sum;
    sum.shard_id = shard->id;
    if (shard->parent) sum.parent_shard_id = format_shard_id(*shard->parent);
    if (shard->adjacent_parent) sum.adjacent_parent_shard_id = format_shard_id(*shard->adjacent_parent);
    std::lock_guard sl(shard->mu);
    if (shard->closed && shard->closed_ms < horizon) continue;
    sum.closed = shard->closed;
    out.push_back(std::move(sum));
  }
  return out;
}

Outcome<ShardReadResult> KinesisProvider::read_shard(std::string_view account, std::string_view region,
                                                     std::string_view stream, std::string_view shard_id,
                                                     const ReadPosition& from, size_t limit) const {
  int64_t now = env_->clock->now_ms();
  auto found = find(account, region, stream, now);
  if (!found.ok()) return std::move(found).error();
  const Stream& s = *found.value();
  std::shared_lock lock(s.mu);
  if (!s.usable_at(now)) return stream_not_found(s.name, s.account);
  auto named = shard_named(s, shard_id);
  if (!named.ok()) return std::move(named).error();
  const Shard* shard = named.value();
  auto at = resolve(s, *shard, from, now, "GetShardIterator");
  if (!at.ok()) return std::move(at).error();
  ShardReadResult out;
  out.stream_arn = s.arn;
  auto batch = read(s, *shard, at.value(), std::max<size_t>(1, limit), now, [&](const RecordView& r) {
    out.records.push_back({format_sequence({s.created_ms, shard->index, r.counter}), std::string(r.partition_key),
                           std::string(r.data), r.arrival_ms, s.encryption_type});
  });
  if (!batch.ok()) return std::move(batch).error();
  if (out.records.empty()) {
    out.next = {ReadFrom::kAtSequence, format_sequence({s.created_ms, shard->index, batch.value().next}), 0};
  } else {
    out.next = {ReadFrom::kAfterSequence, out.records.back().sequence_number, 0};
  }
  out.shard_ended = batch.value().ended;
  out.millis_behind_latest = batch.value().millis_behind;
  if (out.shard_ended) {
    for (const Shard* child : children_of(s, *shard)) out.child_shards.push_back(child->id);
  }
  return out;
}

// --- retention -------------------------------------------------------------------------------

void KinesisProvider::sweep_retention() {
  if (!env_) return;
  int64_t now = env_->clock->now_ms();
  std::vector<StreamPtr> all;
  std::vector<StreamPtr> gone;
  {
    std::shared_lock lock(streams_mu_);
    for (const auto& [k, s] : streams_) (s->gone_at(now) ? gone : all).push_back(s);
  }
  for (const auto& s : gone) {
    Status st = finish_delete(s);
    if (!st.is_ok()) log::warn("kinesis: deleting stream {}: {}", s->name, st.to_string());
  }
  for (const auto& s : all) sweep_stream(*s, now);
}

void KinesisProvider::sweep_stream(Stream& s, int64_t now_ms) {
  std::shared_lock lock(s.mu);
  if (s.deleted.load()) return;
  int64_t horizon = s.trim_horizon_ms(now_ms);
  storage::WriteBatch batch;
  std::vector<std::pair<Shard*, uint64_t>> trimmed;
  for (const auto& shard : s.shards) {
    uint64_t from;
    uint64_t tip;
    {
      std::lock_guard sl(shard->mu);
      from = shard->trimmed_below;
      tip = shard->next_counter;
    }
    if (from >= tip) continue;
    uint64_t cut = store_.first_at_or_after(shard->key_prefix, from, tip, horizon);
    if (cut <= from) continue;
    store_.trim(batch, shard->key_prefix, cut);
    trimmed.emplace_back(shard.get(), cut);
  }
  if (trimmed.empty()) return;
  // The metadata carries each shard's trim point, so positions survive even a fully trimmed
  // shard; it is written with the deletions, atomically.
  for (auto& [shard, cut] : trimmed) {
    std::lock_guard sl(shard->mu);
    shard->trimmed_below = cut;
  }
  batch.put(store_.family(), StreamStore::meta_key(s.account, s.region, s.name), s.to_meta().dump());
  Status st = store_.store()->write(batch);
  if (!st.is_ok()) log::warn("kinesis: retention sweep of {} failed: {}", s.name, st.to_string());
}

}  // namespace sless::services::kinesis
