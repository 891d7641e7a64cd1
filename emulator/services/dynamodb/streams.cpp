// DynamoDB Streams: ListStreams, DescribeStream, GetShardIterator and GetRecords over the
// records Engine::write commits with each item change. A stream has one shard for its life; the
// shard closes (EndingSequenceNumber) when the stream is disabled or its table deleted, and
// records are kept for 24 hours.
#include <algorithm>

#include "core/clock.h"
#include "core/encoding.h"
#include "services/dynamodb/common.h"
#include "services/dynamodb/ops.h"

namespace sless::services::dynamodb::ops {

namespace {

constexpr int64_t kIteratorLifetimeMs = 15 * 60 * 1000;
constexpr size_t kMaxRecords = 1000;

ServiceError stream_missing(const std::string& arn) {
  return ServiceError("ResourceNotFoundException", "Requested resource not found: Stream: " + arn + " not found");
}

ServiceError trimmed() {
  return ServiceError("TrimmedDataAccessException",
                      "The operation attempted to read past the oldest stream record in a shard.");
}

struct Position {
  std::string arn;
  std::string shard;
  uint64_t next = 0;
  int64_t issued_ms = 0;
};

std::string make_iterator(const Position& p) {
  return enc::base64_encode(dump(Json{{"a", p.arn}, {"s", p.shard}, {"n", std::to_string(p.next)}, {"t", p.issued_ms}}));
}

std::optional<Position> parse_iterator(const std::string& text) {
  auto raw = enc::base64_decode(text);
  if (!raw) {
    return std::nullopt;
  }
  Json j = Json::parse(*raw, nullptr, false);
  if (!j.is_object() || !j.contains("a") || !j.contains("s") || !j.contains("n") || !j.contains("t") ||
      !j["a"].is_string() || !j["s"].is_string() || !j["n"].is_string() || !j["t"].is_number_integer()) {
    return std::nullopt;
  }
  Position p;
  p.arn = j["a"].get<std::string>();
  p.shard = j["s"].get<std::string>();
  auto next = parse_sequence(j["n"].get<std::string>());
  if (!next) {
    return std::nullopt;
  }
  p.next = *next;
  p.issued_ms = j["t"].get<int64_t>();
  return p;
}

Json shard_json(const StreamState& s) {
  std::lock_guard lock(s.mu);
  Json range{{"StartingSequenceNumber", sequence_text(s.start_seq)}};
  if (!s.enabled) {
    range["EndingSequenceNumber"] = sequence_text(std::max(s.start_seq, s.next_seq > 0 ? s.next_seq - 1 : 0));
  }
  return Json{{"ShardId", s.shard_id}, {"SequenceNumberRange", std::move(range)}};
}

}  // namespace

Output list_streams(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string table = p.value("TableName", "");
  const std::string after = p.value("ExclusiveStartStreamArn", "");
  const size_t limit = p.value("Limit", size_t{100});
  Json streams = Json::array();
  bool started = after.empty();
  bool more = false;
  for (const auto& s : e.streams(ctx.account, ctx.region)) {
    if (!table.empty() && s->table_name != table) {
      continue;
    }
    if (!started) {
      started = s->arn == after;
      continue;
    }
    if (streams.size() == limit) {
      more = true;
      break;
    }
    streams.push_back(Json{{"StreamArn", s->arn}, {"TableName", s->table_name}, {"StreamLabel", s->label}});
  }
  Json out{{"Streams", streams}};
  if (more) {
    out["LastEvaluatedStreamArn"] = streams.back()["StreamArn"];
  }
  return protocol::OperationOutput(std::move(out));
}

Output describe_stream(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string arn = p.value("StreamArn", "");
  auto s = e.find_stream(arn);
  if (!s || s->account != ctx.account) {
    return stream_missing(arn);
  }
  bool enabled = false;
  {
    std::lock_guard lock(s->mu);
    enabled = s->enabled;
  }
  Json shards = Json::array();
  if (p.value("ExclusiveStartShardId", "") != s->shard_id) {
    shards.push_back(shard_json(*s));
  }
  Json d{{"StreamArn", s->arn},
         {"StreamLabel", s->label},
         {"StreamStatus", enabled ? "ENABLED" : "DISABLED"},
         {"StreamViewType", s->view_type},
         {"CreationRequestDateTime", static_cast<double>(s->created_ms) / 1000.0},
         {"TableName", s->table_name},
         {"KeySchema", s->key_schema},
         {"Shards", std::move(shards)}};
  return protocol::OperationOutput(Json{{"StreamDescription", std::move(d)}});
}

Output get_shard_iterator(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string arn = p.value("StreamArn", "");
  auto s = e.find_stream(arn);
  if (!s || s->account != ctx.account) {
    return stream_missing(arn);
  }
  if (p.value("ShardId", "") != s->shard_id) {
    return ServiceError("ResourceNotFoundException",
                        "Requested resource not found: Shard does not exist: " + p.value("ShardId", ""));
  }
  const std::string type = p.value("ShardIteratorType", "");
  Position pos{s->arn, s->shard_id, 0, ctx.now_ms};
  std::lock_guard lock(s->mu);
  if (type == "TRIM_HORIZON") {
    pos.next = std::max(s->start_seq, s->trimmed_through + 1);
  } else if (type == "LATEST") {
    pos.next = s->next_seq;
  } else {
    if (!p.contains("SequenceNumber")) {
      return validation_error("The SequenceNumber parameter is required for ShardIteratorType " + type);
    }
    auto seq = parse_sequence(p["SequenceNumber"].get<std::string>());
    if (!seq || *seq < s->start_seq) {
      return validation_error("Invalid SequenceNumber " + p["SequenceNumber"].get<std::string>() + " for shard " +
                              s->shard_id);
    }
    if (*seq <= s->trimmed_through) {
      return trimmed();
    }
    pos.next = type == "AFTER_SEQUENCE_NUMBER" ? *seq + 1 : *seq;
  }
  return protocol::OperationOutput(Json{{"ShardIterator", make_iterator(pos)}});
}

Output get_records(Engine& e, const RequestContext& ctx, Json& p) {
  auto pos = parse_iterator(p.value("ShardIterator", ""));
  if (!pos) {
    return validation_error("Invalid ShardIterator");
  }
  if (ctx.now_ms - pos->issued_ms > kIteratorLifetimeMs) {
    return ServiceError("ExpiredIteratorException",
                        "Iterator expired. The iterator was created at time " + std::to_string(pos->issued_ms) +
                            " while right now it is " + std::to_string(ctx.now_ms) +
                            " which is further in the future than the tolerated delay of " +
                            std::to_string(kIteratorLifetimeMs) + " milliseconds.");
  }
  auto s = e.find_stream(pos->arn);
  if (!s || s->account != ctx.account || s->shard_id != pos->shard) {
    return stream_missing(pos->arn);
  }
  bool enabled = false;
  uint64_t next_seq = 0;
  {
    std::lock_guard lock(s->mu);
    if (pos->next <= s->trimmed_through) {
      return trimmed();
    }
    enabled = s->enabled;
    next_seq = s->next_seq;
  }
  const size_t limit = std::min(p.value("Limit", kMaxRecords), kMaxRecords);
  std::vector<StreamRecord> records = e.read_stream(*s, pos->next, limit);
  std::string out = "{\"Records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    out += i > 0 ? "," : "";
    out += records[i].json;
  }
  out += ']';
  Position next = *pos;
  next.issued_ms = ctx.now_ms;
  if (!records.empty()) {
    next.next = records.back().sequence + 1;
  }
  const bool closed = !enabled && records.empty() && next.next >= next_seq;
  if (!closed) {
    out += ",\"NextShardIterator\":";
    dump_to(out, Json(make_iterator(next)));
  }
  out += '}';
  return raw_output(std::move(out));
}

}  // namespace sless::services::dynamodb::ops
