#include "services/logs/logs.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <tuple>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "services/logs/filter_pattern.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::logs {

using nlohmann::json;
using protocol::OperationOutput;
namespace key = storage::key;

namespace {

constexpr size_t kMaxEventsPerGet = 10000;
// A known stream's record is rewritten at most this often (ingestion time), see StreamMeta.
constexpr int64_t kRecordEveryMs = 1000;

// CloudWatch Logs' size of an event (a PutLogEvents batch's limit, a stream's storedBytes): its
// message plus 26 bytes.
int64_t event_bytes(size_t message_size) { return static_cast<int64_t>(message_size) + 26; }
constexpr size_t kMaxBytesPerGet = 1024 * 1024;

ServiceError not_found(std::string what) {
  return ServiceError("ResourceNotFoundException", "The specified " + what + " does not exist.");
}

ServiceError invalid(std::string message) { return ServiceError("InvalidParameterException", std::move(message)); }

std::string group_arn(const RequestContext& ctx, const std::string& group) {
  return ids::arn("logs", ctx.region, ctx.account, "log-group:" + group);
}

// Entries of events (see logs.h). Keys: <prefix> i64 timestamp (of the first event), u64 sequence.
// Values: one event is <i64 ingestion time><message>; a run is kRunTag <i64 ingestion time>, then
// per event <i64 timestamp><u32 message length><message>. Ingestion times are positive and below
// 2^56, so a single event's value starts with 0x80, never with kRunTag.
constexpr char kRunTag = '\x01';

std::string encode_event(int64_t ingestion, std::string_view message) {
  std::string v;
  key::append_i64(v, ingestion);
  v.append(message);
  return v;
}

std::string encode_run(int64_t ingestion, const std::vector<Event>& events) {
  size_t size = 9;
  for (const Event& e : events) size += 12 + e.message.size();
  std::string v;
  v.reserve(size);
  v.push_back(kRunTag);
  key::append_i64(v, ingestion);
  for (const Event& e : events) {
    key::append_i64(v, e.timestamp_ms);
    key::append_u32(v, static_cast<uint32_t>(e.message.size()));
    v.append(e.message);
  }
  return v;
}

bool decode_event_key(std::string_view k, size_t prefix_len, int64_t* ts) {
  std::string_view rest = k.substr(prefix_len);
  return key::read_i64(rest, ts);
}

struct StoredEvent {
  int64_t timestamp;
  int64_t ingestion;
  std::string_view message;  // into the entry's value
};

// The events of one entry, in order, into *out; false when the entry is malformed.
bool decode_entry(std::string_view k, size_t prefix_len, std::string_view v, std::vector<StoredEvent>* out) {
  out->clear();
  int64_t ts = 0;
  int64_t ingestion = 0;
  if (!decode_event_key(k, prefix_len, &ts)) return false;
  if (v.empty() || v[0] != kRunTag) {
    if (!key::read_i64(v, &ingestion)) return false;
    out->push_back({ts, ingestion, v});
    return true;
  }
  v.remove_prefix(1);
  if (!key::read_i64(v, &ingestion)) return false;
  while (!v.empty()) {
    uint32_t len = 0;
    if (!key::read_i64(v, &ts) || !key::read_u32(v, &len) || len > v.size()) return false;
    out->push_back({ts, ingestion, v.substr(0, len)});
    v.remove_prefix(len);
  }
  return !out->empty();
}

bool is_run(std::string_view v) { return !v.empty() && v[0] == kRunTag; }

// Whether one invocation's lines may be stored as a run after events up to `stream_last`.
bool fits_run(const std::vector<Event>& events, int64_t stream_last) {
  if (events.size() < 2 || events.front().timestamp_ms < stream_last) return false;
  for (size_t i = 1; i < events.size(); ++i) {
    if (events[i].timestamp_ms < events[i - 1].timestamp_ms) return false;
  }
  return events.back().timestamp_ms - events.front().timestamp_ms <= LogsService::kMaxRunSpanMs;
}

// A time less the run span, without wrapping.
int64_t run_lookback(int64_t t) {
  return t < INT64_MIN + LogsService::kMaxRunSpanMs ? INT64_MIN : t - LogsService::kMaxRunSpanMs;
}

// A position in a stream: an entry's key and an event's index in it.
struct Position {
  std::string key;
  uint32_t index = 0;
  std::string text() const {
    std::string raw = key;
    key::append_u32(raw, index);
    return enc::hex_encode(raw);
  }
};

std::optional<Position> parse_position(std::string_view hex) {
  auto raw = enc::hex_decode(hex);
  if (!raw || raw->size() < 4) return std::nullopt;
  std::string_view tail = std::string_view(*raw).substr(raw->size() - 4);
  Position p;
  key::read_u32(tail, &p.index);
  p.key = raw->substr(0, raw->size() - 4);
  return p;
}

// The offset a nextToken of FilterLogEvents or DescribeLogStreams stands for: these tokens are
// positions in the listing, in decimal, and one is issued only while results remain, so anything
// else (not a plain positive decimal, or past the listing's end) is not one of ours. nullopt: invalid.
std::optional<size_t> token_offset(const json& token, size_t listed) {
  if (!token.is_string()) return std::nullopt;
  const std::string& t = token.get_ref<const std::string&>();
  size_t offset = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), offset);
  if (ec != std::errc() || end != t.data() + t.size() || t[0] == '0' || offset > listed) return std::nullopt;
  return offset;
}

int64_t get_i64(const json& p, const char* k, int64_t fallback) {
  auto it = p.find(k);
  return it != p.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

}  // namespace

LogsService::LogsService() {
#define SLESS_LOGS_OP(op, fn) \
  on_sync(op, [this](RequestContext& ctx, nlohmann::json& p) { return fn(ctx, p); })
  SLESS_LOGS_OP("CreateLogGroup", create_log_group);
  SLESS_LOGS_OP("DeleteLogGroup", delete_log_group);
  SLESS_LOGS_OP("DescribeLogGroups", describe_log_groups);
  SLESS_LOGS_OP("CreateLogStream", create_log_stream);
  SLESS_LOGS_OP("DeleteLogStream", delete_log_stream);
  SLESS_LOGS_OP("DescribeLogStreams", describe_log_streams);
  SLESS_LOGS_OP("PutLogEvents", put_log_events);
  SLESS_LOGS_OP("GetLogEvents", get_log_events);
  SLESS_LOGS_OP("FilterLogEvents", filter_log_events);
  SLESS_LOGS_OP("PutRetentionPolicy", put_retention_policy);
  SLESS_LOGS_OP("DeleteRetentionPolicy", delete_retention_policy);
  SLESS_LOGS_OP("TagResource", tag_resource);
  SLESS_LOGS_OP("UntagResource", untag_resource);
  SLESS_LOGS_OP("ListTagsForResource", list_tags_for_resource);
#undef SLESS_LOGS_OP
}

Status LogsService::start(Env& env) {
  env_ = &env;
  family_ = env.store->family("logs");
  if (!family_) return Status::internal("cannot open the logs column family");
  // Sequence numbers only need to grow across restarts: start from the clock in microseconds.
  seq_.store(static_cast<uint64_t>(env.clock->now_ms()) * 1000);
  std::lock_guard w(write_mu_);
  return rebuild();
}

void LogsService::stop() {
  if (!env_) return;
  if (Status st = flush(); !st.is_ok()) log::warn("writing the queued log events failed: {}", st.to_string());
}

Status LogsService::reset() {
  if (!env_) return Status::ok();
  std::lock_guard w(write_mu_);
  std::vector<Queued> dropped = take_queue();
  unwritten_.fetch_sub(dropped.size());
  groups_.clear();
  streams_.clear();
  dirty_.store(false);
  return env_->store->clear(family_);
}

// Keys are <account> <region> "g"|"s"|"e" ...: the scan reads the group and stream records of each
// account and region and seeks past their events.
Status LogsService::rebuild() {
  groups_.clear();
  streams_.clear();
  dirty_.store(false);
  auto it = env_->store->iterate(family_, "", "");
  it->seek_to_first();
  while (it->valid()) {
    std::string_view rest = it->key();
    std::string account, region, kind;
    if (!key::read_string(rest, &account) || !key::read_string(rest, &region) || !key::read_string(rest, &kind)) {
      it->next();
      continue;
    }
    if (kind == "e") {
      it->seek(key::prefix_end(key::KeyBuilder(account, region).str("e").key()));
      continue;
    }
    if (kind == "g") {
      groups_.insert(std::string(it->key()));
    } else if (kind == "s") {
      json s = json::parse(it->value(), nullptr, false);
      if (s.is_object()) {
        StreamMeta m;
        m.creation_ms = s.value("creationTime", int64_t{0});
        m.first_ms = s.value("firstEventTimestamp", INT64_MAX);
        m.last_ms = s.value("lastEventTimestamp", INT64_MIN);
        m.ingestion_ms = s.value("lastIngestionTime", int64_t{0});
        m.stored_bytes = s.value("storedBytes", int64_t{0});
        // A record may trail its stream's events by up to a second (see StreamMeta) when the
        // daemon was killed: its first and last events say when they happened.
        std::string group, stream;
        if (key::read_string(rest, &group) && key::read_string(rest, &stream)) {
          std::string prefix = events_prefix(account, region, group, stream);
          auto ev = env_->store->iterate(family_, prefix, key::prefix_end(prefix));
          std::vector<StoredEvent> entry;
          ev->seek_to_last();
          if (ev->valid() && decode_entry(ev->key(), prefix.size(), ev->value(), &entry)) {
            // The last entry starts last, and a run's events all come after the entries before it.
            int64_t ts = entry.back().timestamp;
            int64_t ingestion = entry.back().ingestion;
            m.dirty = ts > m.last_ms || ingestion > m.ingestion_ms;
            m.last_ms = std::max(m.last_ms, ts);
            m.ingestion_ms = std::max(m.ingestion_ms, ingestion);
            ev->seek_to_first();
            if (ev->valid() && decode_event_key(ev->key(), prefix.size(), &ts) && ts < m.first_ms) {
              m.first_ms = ts;
              m.dirty = true;
            }
            if (m.dirty) {  // the record missed events: count the stream's bytes again
              m.stored_bytes = 0;
              for (; ev->valid(); ev->next()) {
                if (!decode_entry(ev->key(), prefix.size(), ev->value(), &entry)) continue;
                for (const StoredEvent& e : entry) m.stored_bytes += event_bytes(e.message.size());
              }
            }
          }
          if (m.dirty) dirty_.store(true);
        }
        streams_.emplace(std::string(it->key()), m);
      }
    }
    it->next();
  }
  return it->status();
}

std::string LogsService::group_key(const std::string& a, const std::string& r, const std::string& g) const {
  return key::KeyBuilder(a, r).str("g").str(g).take();
}
std::string LogsService::stream_key(const std::string& a, const std::string& r, const std::string& g,
                                    const std::string& s) const {
  return key::KeyBuilder(a, r).str("s").str(g).str(s).take();
}
std::string LogsService::events_prefix(const std::string& a, const std::string& r, const std::string& g,
                                       const std::string& s) const {
  return key::KeyBuilder(a, r).str("e").str(g).str(s).take();
}

bool LogsService::load(const std::string& k, json* out) const {
  std::string v;
  if (!env_->store->get(family_, k, &v).is_ok()) return false;
  *out = json::parse(v, nullptr, false);
  return !out->is_discarded();
}

std::string LogsService::group_name(const Params& p) const {
  if (p.contains("logGroupName")) return p["logGroupName"].get<std::string>();
  if (p.contains("logGroupIdentifier")) {
    std::string id = p["logGroupIdentifier"].get<std::string>();
    auto pos = id.find(":log-group:");
    if (pos != std::string::npos) {
      id = id.substr(pos + 11);
      if (enc::ends_with(id, ":*")) id.resize(id.size() - 2);
    }
    return id;
  }
  return {};
}

void LogsService::enqueue(std::string account, std::string region, std::string group, std::string stream,
                          std::vector<Event> events, bool run) {
  int64_t now = env_ ? env_->clock->now_ms() : 0;
  std::lock_guard q(queue_mu_);
  queue_.push_back(Queued{std::move(account), std::move(region), std::move(group), std::move(stream),
                          std::move(events), now, run});
  unwritten_.fetch_add(1);
}

std::vector<LogsService::Queued> LogsService::take_queue() {
  std::vector<Queued> batch;
  std::lock_guard q(queue_mu_);
  batch.swap(queue_);
  return batch;
}

void LogsService::write_queued() {
  if (!env_) return;
  {
    std::lock_guard q(queue_mu_);
    if (draining_ || queue_.empty()) return;  // the thread draining writes ours too
    if (queue_.size() < kWriteNowQueued) {
      // Wait a little for more: under load one batch then carries many invocations' lines.
      if (!write_timer_armed_) {
        write_timer_armed_ = true;
        env_->scheduler->after(std::chrono::milliseconds(kWriteDelayMs), [this] {
          {
            std::lock_guard q(queue_mu_);
            write_timer_armed_ = false;
            if (draining_ || queue_.empty()) return;
            draining_ = true;
          }
          write_rounds();
        });
      }
      return;
    }
    draining_ = true;
  }
  write_rounds();
}

void LogsService::write_rounds() {
  // A few rounds at most on this thread; under steady load the rest continues as a posted task.
  for (int round = 0; round < 4; ++round) {
    std::unique_lock w(write_mu_);
    std::vector<Queued> batch;
    {
      std::lock_guard q(queue_mu_);
      batch.swap(queue_);
      if (batch.empty()) {
        draining_ = false;
        return;
      }
    }
    if (Status st = write_locked(batch); !st.is_ok()) log::warn("writing log events failed: {}", st.to_string());
  }
  env_->scheduler->post([this] { write_rounds(); });
}

Status LogsService::flush() {
  if (!env_) return Status::internal("logs service not started");
  if (unwritten_.load() == 0 && !dirty_.load()) return Status::ok();
  std::lock_guard w(write_mu_);  // waits for a batch being written
  return flush_locked();
}

Status LogsService::flush_locked() {
  std::vector<Queued> batch = take_queue();
  if (!batch.empty()) {
    if (Status st = write_locked(batch); !st.is_ok()) return st;
  }
  return write_dirty_locked();
}

Status LogsService::append(const std::string& account, const std::string& region, const std::string& group,
                           const std::string& stream, std::vector<Event> events) {
  if (!env_) return Status::internal("logs service not started");
  enqueue(account, region, group, stream, std::move(events));
  return flush();
}

namespace {

// The stream's metadata record, as the JSON object nlohmann writes (members in name order); written
// directly, since every batch of invocation logs rewrites it.
std::string stream_record(int64_t creation, int64_t first, int64_t last, int64_t ingestion, int64_t bytes) {
  std::string out = "{\"creationTime\":" + std::to_string(creation);
  if (first != INT64_MAX) {
    out += ",\"firstEventTimestamp\":" + std::to_string(first);
    out += ",\"lastEventTimestamp\":" + std::to_string(last);
    out += ",\"lastIngestionTime\":" + std::to_string(ingestion);
  }
  out += ",\"storedBytes\":" + std::to_string(bytes) + "}";
  return out;
}

}  // namespace

Status LogsService::write_locked(std::vector<Queued>& batch) {
  storage::WriteBatch wb;
  std::map<std::string, StreamMeta> touched;  // the streams' new metadata, kept once written
  std::vector<std::string> new_groups;
  // The batch by stream, each stream's appends in the order they were queued: a stream's keys are
  // built once, and its invocations' runs become one run when together they still qualify (under
  // load a batch holds several invocations of each worker, whose lines follow each other in time).
  std::vector<size_t> order(batch.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto identity = [&batch](size_t i) {
    const Queued& q = batch[i];
    return std::tie(q.account, q.region, q.group, q.stream);
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return identity(a) < identity(b); });
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin + 1;
    while (end < order.size() && identity(order[end]) == identity(order[begin])) ++end;
    const Queued& first = batch[order[begin]];
    std::string gk = group_key(first.account, first.region, first.group);
    if (!groups_.count(gk) && std::find(new_groups.begin(), new_groups.end(), gk) == new_groups.end()) {
      wb.put(family_, gk, json{{"creationTime", first.ingestion_ms}}.dump());
      new_groups.push_back(std::move(gk));
    }
    std::string sk = stream_key(first.account, first.region, first.group, first.stream);
    auto t = touched.find(sk);
    if (t == touched.end()) {
      auto known = streams_.find(sk);
      StreamMeta fresh;
      fresh.creation_ms = first.ingestion_ms;
      t = touched.emplace(std::move(sk), known != streams_.end() ? known->second : fresh).first;
    }
    StreamMeta& m = t->second;
    const std::string prefix = events_prefix(first.account, first.region, first.group, first.stream);
    auto entry_key = [&](int64_t first_ms) {
      std::string k = prefix;
      key::append_i64(k, first_ms);
      key::append_u64(k, seq_.fetch_add(1));
      return k;
    };
    auto note = [&m](const std::vector<Event>& events, int64_t ingestion_ms) {
      for (const Event& e : events) {
        m.first_ms = std::min(m.first_ms, e.timestamp_ms);
        m.last_ms = std::max(m.last_ms, e.timestamp_ms);
        m.stored_bytes += event_bytes(e.message.size());
      }
      if (!events.empty()) m.ingestion_ms = std::max(m.ingestion_ms, ingestion_ms);
    };
    // Several invocations' runs as one run, stamped with the latest ingestion time among them.
    if (end - begin > 1) {
      std::vector<Event> merged;
      int64_t ingestion_ms = 0;
      bool all_runs = true;
      for (size_t i = begin; i < end && all_runs; ++i) {
        all_runs = batch[order[i]].run;
        ingestion_ms = std::max(ingestion_ms, batch[order[i]].ingestion_ms);
      }
      if (all_runs) {
        for (size_t i = begin; i < end; ++i) {
          for (Event& e : batch[order[i]].events) merged.push_back(std::move(e));
        }
        if (fits_run(merged, m.last_ms)) {
          wb.put(family_, entry_key(merged.front().timestamp_ms), encode_run(ingestion_ms, merged));
          note(merged, ingestion_ms);
          begin = end;
          continue;
        }
        // Give the events back, in order, and store each invocation on its own.
        auto from = merged.begin();
        for (size_t i = begin; i < end; ++i) {
          for (Event& e : batch[order[i]].events) e = std::move(*from++);
        }
      }
    }
    for (size_t i = begin; i < end; ++i) {
      const Queued& q = batch[order[i]];
      bool as_run = q.run && fits_run(q.events, m.last_ms);
      if (as_run) wb.put(family_, entry_key(q.events.front().timestamp_ms), encode_run(q.ingestion_ms, q.events));
      if (!as_run) {
        for (const Event& e : q.events) wb.put(family_, entry_key(e.timestamp_ms), encode_event(q.ingestion_ms, e.message));
      }
      note(q.events, q.ingestion_ms);
    }
    begin = end;
  }
  bool deferred = false;
  for (auto& [sk, m] : touched) {
    // A new stream's record goes with its first events; a known one's at most once a second.
    if (!streams_.contains(sk) || m.ingestion_ms - m.recorded_ms >= kRecordEveryMs) {
      wb.put(family_, sk, stream_record(m.creation_ms, m.first_ms, m.last_ms, m.ingestion_ms, m.stored_bytes));
      m.recorded_ms = m.ingestion_ms;
      m.dirty = false;
    } else {
      m.dirty = true;
      deferred = true;
    }
  }
  Status st = env_->store->write(wb);
  unwritten_.fetch_sub(batch.size());
  if (!st.is_ok()) return st;
  for (auto& g : new_groups) groups_.insert(std::move(g));
  for (auto& [sk, m] : touched) streams_[sk] = m;
  if (deferred) dirty_.store(true);
  return Status::ok();
}

Status LogsService::write_dirty_locked() {
  if (!dirty_.load()) return Status::ok();
  storage::WriteBatch wb;
  for (const auto& [sk, m] : streams_) {
    if (m.dirty) wb.put(family_, sk, stream_record(m.creation_ms, m.first_ms, m.last_ms, m.ingestion_ms, m.stored_bytes));
  }
  if (!wb.empty()) {
    if (Status st = env_->store->write(wb); !st.is_ok()) return st;
  }
  for (auto& [sk, m] : streams_) {
    if (m.dirty) {
      m.dirty = false;
      m.recorded_ms = m.ingestion_ms;
    }
  }
  dirty_.store(false);
  return Status::ok();
}

namespace {

// Log group names as the API's pattern has them, [\.\-_/#A-Za-z0-9]+; stream names [^:*]*.
std::optional<ServiceError> check_name(const std::string& name, bool group) {
  auto allowed = [group](char c) {
    if (!group) return c != ':' && c != '*';
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '/' || c == '#';
  };
  if (!name.empty() && std::all_of(name.begin(), name.end(), allowed)) return std::nullopt;
  return invalid("1 validation error detected: Value '" + name + "' at '" + (group ? "logGroupName" : "logStreamName") +
                 "' failed to satisfy constraint: Member must satisfy regular expression pattern: " +
                 (group ? "[\\.\\-_/#A-Za-z0-9]+" : "[^:*]*"));
}

}  // namespace

LogsService::Out LogsService::create_log_group(RequestContext& ctx, Params& p) {
  std::string name = p["logGroupName"];
  if (auto err = check_name(name, /*group=*/true)) return std::move(*err);
  std::string k = group_key(ctx.account, ctx.region, name);
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  if (groups_.count(k)) {
    return ServiceError("ResourceAlreadyExistsException", "The specified log group already exists");
  }
  json g{{"creationTime", ctx.now_ms}};
  if (p.contains("tags")) g["tags"] = p["tags"];
  if (p.contains("logGroupClass")) g["logGroupClass"] = p["logGroupClass"];
  if (Status st = env_->store->put(family_, k, g.dump()); !st.is_ok()) return ServiceError::internal(st.to_string());
  groups_.insert(k);
  return OperationOutput();
}

LogsService::Out LogsService::delete_log_group(RequestContext& ctx, Params& p) {
  std::string name = p["logGroupName"];
  std::string k = group_key(ctx.account, ctx.region, name);
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  if (!groups_.count(k)) return not_found("log group");
  storage::WriteBatch batch;
  batch.del(family_, k);
  std::string streams = key::KeyBuilder(ctx.account, ctx.region).str("s").str(name).take();
  std::string events = key::KeyBuilder(ctx.account, ctx.region).str("e").str(name).take();
  batch.delete_range(family_, streams, key::prefix_end(streams));
  batch.delete_range(family_, events, key::prefix_end(events));
  if (Status st = env_->store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
  groups_.erase(k);
  streams_.erase(streams_.lower_bound(streams), streams_.lower_bound(key::prefix_end(streams)));
  return OperationOutput();
}

LogsService::Out LogsService::describe_log_groups(RequestContext& ctx, Params& p) {
  if (Status st = flush(); !st.is_ok()) return ServiceError::internal(st.to_string());
  std::string prefix = p.value("logGroupNamePrefix", "");
  std::string pattern = p.value("logGroupNamePattern", "");
  int64_t limit = get_i64(p, "limit", 50);
  std::string base = key::KeyBuilder(ctx.account, ctx.region).str("g").take();
  std::string start = base;
  if (p.contains("nextToken")) {
    auto decoded = enc::base64_decode(p["nextToken"].get<std::string>());
    if (!decoded) return invalid("The specified nextToken is invalid.");
    start = *decoded;
  }
  auto it = env_->store->iterate(family_, start, key::prefix_end(base));
  json groups = json::array();
  std::string next;
  for (it->seek(start); it->valid(); it->next()) {
    std::string_view rest = it->key().substr(base.size());
    std::string name;
    if (!key::read_string(rest, &name)) continue;
    if (!prefix.empty() && !enc::starts_with(name, prefix)) continue;
    if (!pattern.empty() && name.find(pattern) == std::string::npos) continue;
    if (static_cast<int64_t>(groups.size()) >= limit) {
      next = enc::base64_encode(it->key());
      break;
    }
    json g = json::parse(it->value(), nullptr, false);
    json out{{"logGroupName", name},
             {"creationTime", g.value("creationTime", int64_t{0})},
             {"metricFilterCount", 0},
             {"arn", group_arn(ctx, name) + ":*"},
             {"logGroupArn", group_arn(ctx, name)},
             {"storedBytes", 0},
             {"logGroupClass", g.value("logGroupClass", "STANDARD")}};
    if (g.contains("retentionInDays")) out["retentionInDays"] = g["retentionInDays"];
    groups.push_back(std::move(out));
  }
  json result{{"logGroups", std::move(groups)}};
  if (!next.empty()) result["nextToken"] = next;
  return OperationOutput(std::move(result));
}

LogsService::Out LogsService::create_log_stream(RequestContext& ctx, Params& p) {
  std::string group = p["logGroupName"];
  std::string stream = p["logStreamName"];
  if (auto err = check_name(stream, /*group=*/false)) return std::move(*err);
  std::string k = stream_key(ctx.account, ctx.region, group, stream);
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  if (!groups_.count(group_key(ctx.account, ctx.region, group))) return not_found("log group");
  if (streams_.count(k)) return ServiceError("ResourceAlreadyExistsException", "The specified log stream already exists");
  StreamMeta m;
  m.creation_ms = ctx.now_ms;
  if (Status st = env_->store->put(family_, k, stream_record(m.creation_ms, m.first_ms, m.last_ms, 0, 0));
      !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  streams_.emplace(k, m);
  return OperationOutput();
}

LogsService::Out LogsService::delete_log_stream(RequestContext& ctx, Params& p) {
  std::string group = p["logGroupName"];
  std::string stream = p["logStreamName"];
  if (auto err = check_name(stream, /*group=*/false)) return std::move(*err);
  std::string k = stream_key(ctx.account, ctx.region, group, stream);
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  if (!streams_.count(k)) return not_found("log stream");
  storage::WriteBatch batch;
  batch.del(family_, k);
  std::string events = events_prefix(ctx.account, ctx.region, group, stream);
  batch.delete_range(family_, events, key::prefix_end(events));
  if (Status st = env_->store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
  streams_.erase(k);
  return OperationOutput();
}

LogsService::Out LogsService::describe_log_streams(RequestContext& ctx, Params& p) {
  if (Status st = flush(); !st.is_ok()) return ServiceError::internal(st.to_string());
  std::string group = group_name(p);
  json g;
  if (!load(group_key(ctx.account, ctx.region, group), &g)) return not_found("log group");
  std::string name_prefix = p.value("logStreamNamePrefix", "");
  bool by_time = p.value("orderBy", "LogStreamName") == "LastEventTime";
  if (by_time && !name_prefix.empty()) {
    return invalid("Cannot order by LastEventTime with a logStreamNamePrefix.");
  }
  bool descending = p.value("descending", false);
  size_t limit = static_cast<size_t>(std::max<int64_t>(get_i64(p, "limit", 50), 1));
  std::string base = key::KeyBuilder(ctx.account, ctx.region).str("s").str(group).take();
  auto it = env_->store->iterate(family_, base, key::prefix_end(base));
  std::vector<json> streams;
  for (it->seek(base); it->valid(); it->next()) {
    std::string_view rest = it->key().substr(base.size());
    std::string name;
    if (!key::read_string(rest, &name) || !enc::starts_with(name, name_prefix)) continue;
    json s = json::parse(it->value(), nullptr, false);
    json out{{"logStreamName", name},
             {"creationTime", s.value("creationTime", int64_t{0})},
             {"arn", group_arn(ctx, group) + ":log-stream:" + name},
             {"storedBytes", s.value("storedBytes", int64_t{0})}};
    for (const char* f : {"firstEventTimestamp", "lastEventTimestamp", "lastIngestionTime"}) {
      if (s.contains(f)) out[f] = s[f];
    }
    streams.push_back(std::move(out));
  }
  if (by_time) {
    std::stable_sort(streams.begin(), streams.end(), [](const json& a, const json& b) {
      return a.value("lastEventTimestamp", int64_t{0}) < b.value("lastEventTimestamp", int64_t{0});
    });
  }
  if (descending) std::reverse(streams.begin(), streams.end());
  size_t offset = 0;
  if (p.contains("nextToken")) {
    auto at = token_offset(p["nextToken"], streams.size());
    if (!at) return invalid("The specified nextToken is invalid.");
    offset = *at;
  }
  json page = json::array();
  for (size_t i = offset; i < streams.size() && i < offset + limit; ++i) page.push_back(std::move(streams[i]));
  json result{{"logStreams", std::move(page)}};
  if (offset + limit < streams.size()) result["nextToken"] = std::to_string(offset + limit);
  return OperationOutput(std::move(result));
}

LogsService::Out LogsService::put_log_events(RequestContext& ctx, Params& p) {
  std::string group = p["logGroupName"];
  std::string stream = p["logStreamName"];
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  if (!groups_.count(group_key(ctx.account, ctx.region, group))) return not_found("log group");
  if (!streams_.count(stream_key(ctx.account, ctx.region, group, stream))) return not_found("log stream");
  std::vector<Event> events;
  int64_t previous = INT64_MIN;
  int64_t bytes = 0;
  for (const auto& e : p["logEvents"]) {
    int64_t ts = e["timestamp"].get<int64_t>();
    if (ts < previous) return invalid("Log events in a single PutLogEvents request must be in chronological order.");
    previous = ts;
    std::string m = e["message"];
    bytes += event_bytes(m.size());
    events.push_back({ts, std::move(m)});
  }
  if (bytes > 1048576) return invalid("Log events in a single PutLogEvents request exceed the maximum size of 1048576 bytes.");
  // AWS rejects events older than 14 days or more than 2 hours in the future, without failing the call.
  json rejected = json::object();
  int64_t too_old = ctx.now_ms - 14LL * 24 * 3600 * 1000;
  int64_t too_new = ctx.now_ms + 2LL * 3600 * 1000;
  std::vector<Event> accepted;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].timestamp_ms < too_old) {
      rejected["tooOldLogEventEndIndex"] = static_cast<int64_t>(i) + 1;
    } else if (events[i].timestamp_ms > too_new) {
      if (!rejected.contains("tooNewLogEventStartIndex")) rejected["tooNewLogEventStartIndex"] = static_cast<int64_t>(i);
    } else {
      accepted.push_back(std::move(events[i]));
    }
  }
  enqueue(ctx.account, ctx.region, group, stream, std::move(accepted));
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  json result{{"nextSequenceToken", std::to_string(seq_.load())}};
  if (!rejected.empty()) result["rejectedLogEventsInfo"] = rejected;
  return OperationOutput(std::move(result));
}

LogsService::Out LogsService::get_log_events(RequestContext& ctx, Params& p) {
  if (Status st = flush(); !st.is_ok()) return ServiceError::internal(st.to_string());
  std::string group = group_name(p);
  std::string stream = p["logStreamName"];
  json g, s;
  if (!load(group_key(ctx.account, ctx.region, group), &g)) return not_found("log group");
  if (!load(stream_key(ctx.account, ctx.region, group, stream), &s)) return not_found("log stream");
  std::string prefix = events_prefix(ctx.account, ctx.region, group, stream);
  bool has_start = p.contains("startTime");
  bool has_end = p.contains("endTime");
  int64_t start = get_i64(p, "startTime", 0);
  int64_t end = get_i64(p, "endTime", 0);
  // Entries that start up to a run's span before startTime may hold events from it on; entries
  // that start at endTime or later hold none before it.
  std::string lower = prefix;
  std::string upper = key::prefix_end(prefix);
  if (has_start) key::append_i64(lower, run_lookback(start));
  if (has_end) {
    upper = prefix;
    key::append_i64(upper, end);
  }
  auto in_range = [&](int64_t ts) { return (!has_start || ts >= start) && (!has_end || ts < end); };
  size_t limit = static_cast<size_t>(std::min<int64_t>(get_i64(p, "limit", kMaxEventsPerGet), kMaxEventsPerGet));
  bool forward = p.value("startFromHead", false);
  std::string token = p.value("nextToken", "");
  std::optional<Position> after, before;  // exclusive bounds from tokens
  if (!token.empty()) {
    auto pos = token.size() > 2 ? parse_position(std::string_view(token).substr(2)) : std::nullopt;
    if (!pos || (token[0] != 'f' && token[0] != 'b') || token[1] != '/') {
      return invalid("The specified nextToken is invalid.");
    }
    forward = token[0] == 'f';
    (forward ? after : before) = std::move(*pos);
  }
  struct Picked {
    Position at;
    int64_t timestamp, ingestion;
    std::string message;
  };
  auto it = env_->store->iterate(family_, lower, upper);
  std::vector<Picked> picked;
  std::vector<StoredEvent> entry;
  size_t bytes = 0;
  auto full = [&] { return picked.size() >= limit || bytes >= kMaxBytesPerGet; };
  auto pick = [&](uint32_t i) {
    const StoredEvent& e = entry[i];
    bytes += e.message.size() + 8;
    picked.push_back({Position{std::string(it->key()), i}, e.timestamp, e.ingestion, std::string(e.message)});
  };
  if (forward) {
    it->seek(after ? after->key : lower);
    for (; it->valid() && !full(); it->next()) {
      if (!decode_entry(it->key(), prefix.size(), it->value(), &entry)) continue;
      uint32_t from = after && it->key() == after->key ? after->index + 1 : 0;
      for (uint32_t i = from; i < entry.size() && !full(); ++i) {
        if (in_range(entry[i].timestamp)) pick(i);
      }
    }
  } else {
    if (before) {
      it->seek_for_prev(before->key);
    } else {
      it->seek_to_last();
    }
    for (; it->valid() && !full(); it->prev()) {
      if (!decode_entry(it->key(), prefix.size(), it->value(), &entry)) continue;
      size_t to = before && it->key() == before->key ? std::min<size_t>(before->index, entry.size()) : entry.size();
      for (size_t i = to; i-- > 0 && !full();) {
        if (in_range(entry[i].timestamp)) pick(static_cast<uint32_t>(i));
      }
    }
    std::reverse(picked.begin(), picked.end());
  }
  json events = json::array();
  for (auto& e : picked) {
    events.push_back(json{{"timestamp", e.timestamp}, {"message", std::move(e.message)}, {"ingestionTime", e.ingestion}});
  }
  // With nothing new, the token handed in comes back: that is how clients know they reached the end.
  std::string fwd = !picked.empty() ? picked.back().at.text()
                    : forward && after ? after->text()
                    : before           ? before->text()
                                       : Position{lower, 0}.text();
  std::string bwd = !picked.empty() ? picked.front().at.text()
                    : !forward && before ? before->text()
                    : after              ? after->text()
                                         : Position{upper, 0}.text();
  return OperationOutput(json{{"events", std::move(events)}, {"nextForwardToken", "f/" + fwd}, {"nextBackwardToken", "b/" + bwd}});
}

LogsService::Out LogsService::filter_log_events(RequestContext& ctx, Params& p) {
  // Compiled once, before the scan: a pattern is matched against every event in range.
  auto compiled = compile_filter_pattern(p.value("filterPattern", ""));
  if (auto* why = std::get_if<std::string>(&compiled)) return invalid(std::move(*why));
  const FilterPattern& filter = std::get<FilterPattern>(compiled);
  if (Status st = flush(); !st.is_ok()) return ServiceError::internal(st.to_string());
  std::string group = group_name(p);
  json g;
  if (!load(group_key(ctx.account, ctx.region, group), &g)) return not_found("log group");
  std::vector<std::string> names;
  if (p.contains("logStreamNames")) {
    for (const auto& n : p["logStreamNames"]) names.push_back(n.get<std::string>());
  }
  std::string stream_prefix = p.value("logStreamNamePrefix", "");
  if (!names.empty() && !stream_prefix.empty()) {
    return invalid("logStreamNames and logStreamNamePrefix are mutually exclusive");
  }
  int64_t start = get_i64(p, "startTime", INT64_MIN);
  int64_t end = get_i64(p, "endTime", INT64_MAX);
  size_t limit = static_cast<size_t>(std::clamp<int64_t>(get_i64(p, "limit", kMaxEventsPerGet), 1, kMaxEventsPerGet));

  std::string base = key::KeyBuilder(ctx.account, ctx.region).str("s").str(group).take();
  std::vector<std::string> streams;
  auto sit = env_->store->iterate(family_, base, key::prefix_end(base));
  for (sit->seek(base); sit->valid(); sit->next()) {
    std::string_view rest = sit->key().substr(base.size());
    std::string name;
    if (!key::read_string(rest, &name)) continue;
    if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end()) continue;
    if (!enc::starts_with(name, stream_prefix)) continue;
    streams.push_back(std::move(name));
  }
  struct Hit {
    int64_t ts;
    std::string stream;
    json event;
  };
  std::vector<Hit> hits;
  std::vector<StoredEvent> entry;
  for (const auto& stream : streams) {
    std::string prefix = events_prefix(ctx.account, ctx.region, group, stream);
    std::string lower = prefix;
    if (start != INT64_MIN) key::append_i64(lower, run_lookback(start));
    auto it = env_->store->iterate(family_, lower, key::prefix_end(prefix));
    for (it->seek(lower); it->valid(); it->next()) {
      if (!decode_entry(it->key(), prefix.size(), it->value(), &entry)) continue;
      if (entry.front().timestamp > end) break;  // entries start in time order
      bool run = is_run(it->value());
      for (uint32_t i = 0; i < entry.size(); ++i) {
        const StoredEvent& e = entry[i];
        if (e.timestamp < start || e.timestamp > end || !filter.matches(e.message)) continue;
        std::string id(it->key().substr(prefix.size()));
        if (run) key::append_u32(id, i);
        hits.push_back({e.timestamp, stream,
                        json{{"timestamp", e.timestamp}, {"message", std::string(e.message)}, {"ingestionTime", e.ingestion},
                             {"logStreamName", stream}, {"eventId", enc::hex_encode(id)}}});
      }
    }
  }
  std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.ts < b.ts; });
  size_t offset = 0;
  if (p.contains("nextToken")) {
    auto at = token_offset(p["nextToken"], hits.size());
    if (!at) return invalid("The specified nextToken is invalid.");
    offset = *at;
  }
  json events = json::array();
  for (size_t i = offset; i < hits.size() && i < offset + limit; ++i) events.push_back(std::move(hits[i].event));
  json searched = json::array();
  for (const auto& s : streams) searched.push_back(json{{"logStreamName", s}, {"searchedCompletely", true}});
  json result{{"events", std::move(events)}, {"searchedLogStreams", std::move(searched)}};
  if (offset + limit < hits.size()) result["nextToken"] = std::to_string(offset + limit);
  return OperationOutput(std::move(result));
}

LogsService::Out LogsService::put_retention_policy(RequestContext& ctx, Params& p) {
  std::string group = p["logGroupName"];
  std::string k = group_key(ctx.account, ctx.region, group);
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  json g;
  if (!load(k, &g)) return not_found("log group");
  static const int kAllowed[] = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};
  int days = p["retentionInDays"];
  if (std::find(std::begin(kAllowed), std::end(kAllowed), days) == std::end(kAllowed)) {
    return invalid("1 validation error detected: Value '" + std::to_string(days) +
                   "' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set");
  }
  g["retentionInDays"] = days;
  if (Status st = env_->store->put(family_, k, g.dump()); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

LogsService::Out LogsService::delete_retention_policy(RequestContext& ctx, Params& p) {
  std::string group = p["logGroupName"];
  std::string k = group_key(ctx.account, ctx.region, group);
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  json g;
  if (!load(k, &g)) return not_found("log group");
  g.erase("retentionInDays");
  if (Status st = env_->store->put(family_, k, g.dump()); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

namespace {
// "arn:aws:logs:<region>:<account>:log-group:<name>[:*]" → name
std::optional<std::string> group_from_arn(const std::string& arn) {
  auto pos = arn.find(":log-group:");
  if (pos == std::string::npos) return std::nullopt;
  std::string name = arn.substr(pos + 11);
  if (enc::ends_with(name, ":*")) name.resize(name.size() - 2);
  return name;
}
}  // namespace

LogsService::Out LogsService::tag_resource(RequestContext& ctx, Params& p) {
  auto group = group_from_arn(p["resourceArn"]);
  if (!group) return invalid("Only log group ARNs can be tagged");
  std::string k = group_key(ctx.account, ctx.region, *group);
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  json g;
  if (!load(k, &g)) return not_found("log group");
  for (auto& [tk, tv] : p["tags"].items()) g["tags"][tk] = tv;
  if (Status st = env_->store->put(family_, k, g.dump()); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

LogsService::Out LogsService::untag_resource(RequestContext& ctx, Params& p) {
  auto group = group_from_arn(p["resourceArn"]);
  if (!group) return invalid("Only log group ARNs can be tagged");
  std::string k = group_key(ctx.account, ctx.region, *group);
  std::lock_guard w(write_mu_);
  if (Status st = flush_locked(); !st.is_ok()) return ServiceError::internal(st.to_string());
  json g;
  if (!load(k, &g)) return not_found("log group");
  for (const auto& t : p["tagKeys"]) {
    if (g.contains("tags")) g["tags"].erase(t.get<std::string>());
  }
  if (Status st = env_->store->put(family_, k, g.dump()); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

LogsService::Out LogsService::list_tags_for_resource(RequestContext& ctx, Params& p) {
  if (Status st = flush(); !st.is_ok()) return ServiceError::internal(st.to_string());
  auto group = group_from_arn(p["resourceArn"]);
  if (!group) return invalid("Only log group ARNs can be tagged");
  json g;
  if (!load(group_key(ctx.account, ctx.region, *group), &g)) return not_found("log group");
  return OperationOutput(json{{"tags", g.value("tags", json::object())}});
}

}  // namespace sless::services::logs
