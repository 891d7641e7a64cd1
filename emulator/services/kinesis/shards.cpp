// Shards: listing (ListShards with its filters and tokens) and reshaping (SplitShard,
// MergeShards, UpdateShardCount). A reshape closes parents and opens children in one metadata
// write under the stream's exclusive lock, so a record lands either in a parent before it
// closes or in a child after: per partition key, order is kept across the lineage.
#include <algorithm>
#include <cmath>

#include "core/clock.h"
#include "services/kinesis/internal.h"
#include "services/kinesis/provider.h"
#include "services/kinesis/sequence.h"
#include "services/kinesis/stream.h"

namespace sless::services::kinesis {

using nlohmann::json;
using namespace detail;

namespace {

int64_t param_ms(const json& seconds) { return std::llround(seconds.get<double>() * 1000.0); }

// Whether a shard was open at time t. Shards of the stream's first layout count as open from
// the beginning of time.
bool open_at(const Shard& shard, int64_t t) {
  std::lock_guard lock(shard.mu);
  bool born = shard.created_ms <= t || (!shard.parent && !shard.adjacent_parent);
  return born && (!shard.closed || shard.closed_ms > t);
}

// Whether a shard holds (or may still receive) records from time t on.
bool live_from(const Shard& shard, int64_t t) {
  std::lock_guard lock(shard.mu);
  return !shard.closed || shard.closed_ms >= t;
}

ServiceError shard_gone(const Stream& s, std::string_view shard) {
  return ServiceError("ResourceNotFoundException", "Could not find shard " + std::string(shard) + " in stream " +
                                                       s.name + " under account " + s.account + ".");
}

ServiceError shard_limit(const Stream& s, int open, int more) {
  return limit_exceeded("This request would exceed the shard limit for the account " + s.account + " in " + s.region +
                        ". Current shard count for the account: " + std::to_string(open) + ". Limit: " +
                        std::to_string(kShardLimit) +
                        ". Number of additional shards that would have resulted from this request: " +
                        std::to_string(more) + ".");
}

}  // namespace

KinesisProvider::Result KinesisProvider::list_shards_op(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  json filter = p.value("ShardFilter", json());
  int64_t after = -1;  // list shards with a higher index
  StreamPtr stream;
  if (auto token = p.find("NextToken"); token != p.end()) {
    if (p.contains("StreamName") || p.contains("StreamARN")) {
      return invalid_argument("NextToken and StreamName cannot be provided together.");
    }
    if (p.contains("ExclusiveStartShardId")) {
      return invalid_argument("NextToken and ExclusiveStartShardId cannot be provided together.");
    }
    auto body = read_token(token->get<std::string>());
    if (!body || !body->contains("uid") || !body->contains("after")) return invalid_argument("Invalid NextToken.");
    if (now - (*body)["t"].get<int64_t>() > kIteratorLifetimeMs) {
      return ServiceError("ExpiredNextTokenException", "The timestamp of the NextToken has expired.");
    }
    stream = find_uid((*body)["uid"].get<uint64_t>());
    if (!stream || stream->account != ctx.account || stream->region != ctx.region || stream->gone_at(now)) {
      return ServiceError("ResourceNotFoundException", "The stream of this NextToken no longer exists.");
    }
    after = (*body)["after"].get<int64_t>();
    filter = body->value("filter", json());
  } else {
    auto found = find(ctx, p, now);
    if (!found.ok()) return std::move(found).error();
    stream = found.value();
    if (auto start = p.find("ExclusiveStartShardId"); start != p.end()) {
      auto idx = parse_shard_id(start->get<std::string>());
      if (!idx) return invalid_argument("Invalid ExclusiveStartShardId " + start->get<std::string>() + ".");
      after = *idx;
    }
  }
  const Stream& s = *stream;
  std::shared_lock lock(s.mu);

  // The filter, as a test on each shard.
  std::function<bool(const Shard&)> keep = [](const Shard&) { return true; };
  if (filter.is_object()) {
    std::string type = filter.value("Type", "");
    bool needs_time = type == "AT_TIMESTAMP" || type == "FROM_TIMESTAMP";
    if (needs_time && !filter.contains("Timestamp")) {
      return invalid_argument("Timestamp must be given for a ShardFilter of type " + type + ".");
    }
    if (type == "AFTER_SHARD_ID") {
      auto idx = filter.contains("ShardId") ? parse_shard_id(filter["ShardId"].get<std::string>()) : std::nullopt;
      if (!idx) return invalid_argument("A valid ShardId must be given for a ShardFilter of type AFTER_SHARD_ID.");
      after = std::max<int64_t>(after, *idx);
    } else if (type == "AT_LATEST") {
      keep = [](const Shard& sh) {
        std::lock_guard l(sh.mu);
        return !sh.closed;
      };
    } else if (type == "AT_TRIM_HORIZON" || type == "AT_TIMESTAMP") {
      int64_t t = type == "AT_TIMESTAMP" ? param_ms(filter["Timestamp"]) : s.trim_horizon_ms(now);
      keep = [t](const Shard& sh) { return open_at(sh, t); };
    } else if (type == "FROM_TRIM_HORIZON" || type == "FROM_TIMESTAMP") {
      int64_t t = type == "FROM_TIMESTAMP" ? param_ms(filter["Timestamp"]) : s.trim_horizon_ms(now);
      keep = [t](const Shard& sh) { return live_from(sh, t); };
    }
  }
  size_t limit = p.value("MaxResults", 1000);
  json shards = json::array();
  bool more = false;
  int64_t last = after;
  int64_t horizon = s.trim_horizon_ms(now);
  for (const auto& shard : s.shards) {
    if (static_cast<int64_t>(shard->index) <= after || !live_from(*shard, horizon) || !keep(*shard)) continue;
    if (shards.size() == limit) {
      more = true;
      break;
    }
    shards.push_back(shard_json(s, *shard));
    last = shard->index;
  }
  json out = {{"Shards", std::move(shards)}};
  if (more) {
    json token = {{"uid", s.uid}, {"after", last}};
    if (filter.is_object()) token["filter"] = filter;
    out["NextToken"] = make_token(std::move(token), now);
  }
  return protocol::OperationOutput(std::move(out));
}

std::pair<Shard*, Shard*> KinesisProvider::split(Stream& s, Shard& parent, HashKey at, int64_t now_ms) {
  {
    std::lock_guard lock(parent.mu);
    parent.closed = true;
    parent.closed_ms = std::max(now_ms, parent.last_arrival_ms);
  }
  uint32_t parent_index = parent.index;
  HashKey start = parent.start;
  HashKey end = parent.end;
  Shard& low = s.add_shard(start, at - 1, now_ms);
  low.parent = parent_index;
  Shard& high = s.add_shard(at, end, now_ms);
  high.parent = parent_index;
  s.index_open_shards();
  return {&low, &high};
}

Shard* KinesisProvider::merge(Stream& s, Shard& lower, Shard& upper, int64_t now_ms) {
  for (Shard* sh : {&lower, &upper}) {
    std::lock_guard lock(sh->mu);
    sh->closed = true;
    sh->closed_ms = std::max(now_ms, sh->last_arrival_ms);
  }
  uint32_t a = lower.index;
  uint32_t b = upper.index;
  Shard& child = s.add_shard(lower.start, upper.end, now_ms);
  child.parent = a;
  child.adjacent_parent = b;
  s.index_open_shards();
  return &child;
}

KinesisProvider::Result KinesisProvider::split_shard(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  const std::string& shard_id = p["ShardToSplit"].get_ref<const std::string&>();
  const std::string& key_text = p["NewStartingHashKey"].get_ref<const std::string&>();
  auto at = parse_hash_key(key_text);
  if (!at) return invalid_argument("NewStartingHashKey " + key_text + " is not a hash key in [0, 2^128-1].");
  int others = open_shards_in(s.account, s.region, &s);
  std::unique_lock lock(s.mu);
  StreamStatus status = s.status_at(now);
  if (status != StreamStatus::kActive) return not_active(s, status);
  auto idx = parse_shard_id(shard_id);
  Shard* shard = idx ? s.shard(*idx) : nullptr;
  if (!shard) return shard_gone(s, shard_id);
  {
    std::lock_guard sl(shard->mu);
    if (shard->closed) {
      return invalid_argument("Shard " + shard->id + " in stream " + s.name + " under account " + s.account +
                              " has already been merged or split, and thus is not eligible for merging or splitting.");
    }
  }
  int open = others + static_cast<int>(s.open_shards.size());
  if (open + 1 > kShardLimit) return shard_limit(s, open, 1);
  if (*at <= shard->start + 1 || *at >= shard->end) {
    return invalid_argument("NewStartingHashKey " + key_text + " used in SplitShard() on shard " + shard->id +
                            " in stream " + s.name + " under account " + s.account +
                            " is not both greater than one plus the shard's StartingHashKey " +
                            to_decimal(shard->start) + " and less than the shard's EndingHashKey " +
                            to_decimal(shard->end) + ".");
  }
  split(s, *shard, *at, now);
  begin_update(s, now);
  return commit(s);
}

KinesisProvider::Result KinesisProvider::merge_shards(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  const std::string& first_id = p["ShardToMerge"].get_ref<const std::string&>();
  const std::string& second_id = p["AdjacentShardToMerge"].get_ref<const std::string&>();
  std::unique_lock lock(s.mu);
  StreamStatus status = s.status_at(now);
  if (status != StreamStatus::kActive) return not_active(s, status);
  auto a = parse_shard_id(first_id);
  auto b = parse_shard_id(second_id);
  Shard* first = a ? s.shard(*a) : nullptr;
  if (!first) return shard_gone(s, first_id);
  Shard* second = b ? s.shard(*b) : nullptr;
  if (!second) return shard_gone(s, second_id);
  for (Shard* sh : {first, second}) {
    std::lock_guard sl(sh->mu);
    if (sh->closed) {
      return invalid_argument("Shard " + sh->id + " in stream " + s.name + " under account " + s.account +
                              " has already been merged or split, and thus is not eligible for merging or splitting.");
    }
  }
  bool adjacent = first != second && (first->end + 1 == second->start || second->end + 1 == first->start);
  if (!adjacent) {
    return invalid_argument("Shards " + first->id + " and " + second->id + " in stream " + s.name +
                            " under account " + s.account + " are not an adjacent pair of shards eligible for merging");
  }
  // The child's ParentShardId is ShardToMerge and its AdjacentParentShardId the other one.
  Shard* lower = first->start < second->start ? first : second;
  Shard* upper = lower == first ? second : first;
  Shard* child = merge(s, *lower, *upper, now);
  child->parent = first->index;
  child->adjacent_parent = second->index;
  begin_update(s, now);
  return commit(s);
}

KinesisProvider::Result KinesisProvider::update_shard_count(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  int target = p["TargetShardCount"].get<int>();
  int others = open_shards_in(s.account, s.region, &s);
  std::unique_lock lock(s.mu);
  StreamStatus status = s.status_at(now);
  if (status != StreamStatus::kActive) return not_active(s, status);
  if (s.mode == "ON_DEMAND") {
    return ServiceError::validation("UpdateShardCount is not supported for stream " + s.name +
                                    " in ON_DEMAND mode.");
  }
  int current = static_cast<int>(s.open_shards.size());
  std::string counts = " Current open shard count: " + std::to_string(current) +
                       " Target shard count: " + std::to_string(target);
  if (target > 2 * current) {
    return invalid_argument("UpdateShardCount cannot scale up over double your current open shard count." + counts);
  }
  if (2 * target < current) {
    return invalid_argument("UpdateShardCount cannot scale down below half your current open shard count." + counts);
  }
  if (others + target > kShardLimit) return shard_limit(s, others + current, target - current);

  if (target != current) {
    // AWS reaches a uniform layout by splits and merges, so every new shard has at most two
    // parents: first split each open shard at the new boundaries inside it, then merge the
    // pieces that make up each new shard.
    auto n = static_cast<uint32_t>(target);
    std::vector<HashKey> bounds;
    for (uint32_t i = 1; i < n; ++i) bounds.push_back(even_split_start(i, n));
    std::vector<Shard*> old = s.open_shards;
    for (Shard* sh : old) {
      Shard* rest = sh;
      for (HashKey b : bounds) {
        if (b > rest->start && b <= rest->end) rest = split(s, *rest, b, now).second;
      }
    }
    for (uint32_t i = 0; i < n; ++i) {
      HashKey lo = even_split_start(i, n);
      HashKey hi = i + 1 < n ? even_split_start(i + 1, n) - 1 : kMaxHashKey;
      std::vector<Shard*> pieces;
      for (Shard* sh : s.open_shards) {
        if (sh->start >= lo && sh->end <= hi) pieces.push_back(sh);
      }
      Shard* acc = pieces.empty() ? nullptr : pieces.front();
      for (size_t k = 1; k < pieces.size(); ++k) acc = merge(s, *acc, *pieces[k], now);
    }
    begin_update(s, now);
  }
  return commit(s, json{{"StreamName", s.name},
                        {"StreamARN", s.arn},
                        {"CurrentShardCount", current},
                        {"TargetShardCount", target}});
}

}  // namespace sless::services::kinesis
