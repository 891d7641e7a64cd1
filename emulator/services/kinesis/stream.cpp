#include "services/kinesis/stream.h"

#include <algorithm>

#include "services/kinesis/sequence.h"
#include "services/kinesis/store.h"

namespace sless::services::kinesis {

using nlohmann::json;

const char* to_string(StreamStatus s) {
  switch (s) {
    case StreamStatus::kCreating: return "CREATING";
    case StreamStatus::kActive: return "ACTIVE";
    case StreamStatus::kUpdating: return "UPDATING";
    case StreamStatus::kDeleting: return "DELETING";
  }
  return "ACTIVE";
}

StreamStatus Stream::status_at(int64_t now_ms) const {
  if (status == StreamStatus::kActive || status == StreamStatus::kDeleting || now_ms < status_until_ms) return status;
  return StreamStatus::kActive;
}

bool Stream::usable_at(int64_t now_ms) const {
  if (deleted.load(std::memory_order_acquire)) return false;
  StreamStatus s = status_at(now_ms);
  return s == StreamStatus::kActive || s == StreamStatus::kUpdating;
}

Shard* Stream::shard_for(HashKey key) const {
  auto it = std::upper_bound(open_shards.begin(), open_shards.end(), key,
                             [](HashKey k, const Shard* s) { return k < s->start; });
  return it == open_shards.begin() ? open_shards.front() : *(it - 1);
}

void Stream::index_open_shards() {
  open_shards.clear();
  for (const auto& s : shards) {
    std::lock_guard lock(s->mu);
    if (!s->closed) open_shards.push_back(s.get());
  }
  std::sort(open_shards.begin(), open_shards.end(), [](const Shard* a, const Shard* b) { return a->start < b->start; });
}

Shard& Stream::add_shard(HashKey start, HashKey end, int64_t created) {
  auto s = std::make_unique<Shard>();
  s->index = static_cast<uint32_t>(shards.size());
  s->id = format_shard_id(s->index);
  s->start = start;
  s->end = end;
  s->created_ms = created;
  s->key_prefix = StreamStore::shard_prefix(account, region, uid, s->index);
  shards.push_back(std::move(s));
  return *shards.back();
}

std::string Stream::starting_sequence(const Shard& s) const {
  return format_sequence({created_ms, s.index, 0});
}

std::string Stream::ending_sequence(const Shard& s) const {
  return format_sequence({created_ms, s.index, s.next_counter == 0 ? 0 : s.next_counter - 1});
}

json Stream::to_meta() const {
  json shard_list = json::array();
  for (const auto& s : shards) {
    std::lock_guard lock(s->mu);
    json j = {{"i", s->index}, {"s", to_decimal(s->start)}, {"e", to_decimal(s->end)}, {"t", s->created_ms},
              {"trim", s->trimmed_below}};
    if (s->parent) j["p"] = *s->parent;
    if (s->adjacent_parent) j["a"] = *s->adjacent_parent;
    if (s->closed) {
      j["closed"] = s->closed_ms;
      j["n"] = s->next_counter;
    }
    shard_list.push_back(std::move(j));
  }
  json consumer_list = json::array();
  for (const auto& c : consumers) {
    consumer_list.push_back({{"name", c.name}, {"arn", c.arn}, {"created", c.created_ms},
                             {"deregistering", c.deregistering}, {"ready", c.ready_ms}, {"tags", c.tags}});
  }
  return {{"uid", uid},
          {"account", account},
          {"region", region},
          {"name", name},
          {"arn", arn},
          {"created", created_ms},
          {"status", to_string(status.load())},
          {"until", status_until_ms.load()},
          {"retention", retention_hours},
          {"mode", mode},
          {"encryption", encryption_type},
          {"key", key_id},
          {"metrics", shard_level_metrics},
          {"tags", tags},
          {"consumers", std::move(consumer_list)},
          {"max_kib", max_record_kib},
          {"shards", std::move(shard_list)}};
}

std::unique_ptr<Stream> Stream::from_meta(const json& m) {
  if (!m.is_object()) return nullptr;
  try {
    auto s = std::make_unique<Stream>();
    s->uid = m.at("uid").get<uint64_t>();
    s->account = m.at("account").get<std::string>();
    s->region = m.at("region").get<std::string>();
    s->name = m.at("name").get<std::string>();
    s->arn = m.at("arn").get<std::string>();
    s->created_ms = m.at("created").get<int64_t>();
    std::string status = m.at("status").get<std::string>();
    s->status = status == "CREATING"   ? StreamStatus::kCreating
                : status == "UPDATING" ? StreamStatus::kUpdating
                : status == "DELETING" ? StreamStatus::kDeleting
                                       : StreamStatus::kActive;
    s->status_until_ms = m.at("until").get<int64_t>();
    s->retention_hours = m.at("retention").get<int>();
    s->mode = m.at("mode").get<std::string>();
    s->encryption_type = m.at("encryption").get<std::string>();
    s->key_id = m.at("key").get<std::string>();
    s->shard_level_metrics = m.at("metrics").get<std::vector<std::string>>();
    s->tags = m.at("tags").get<std::map<std::string, std::string>>();
    s->max_record_kib = m.value("max_kib", 1024);
    for (const auto& c : m.at("consumers")) {
      Consumer consumer;
      consumer.name = c.at("name").get<std::string>();
      consumer.arn = c.at("arn").get<std::string>();
      consumer.created_ms = c.at("created").get<int64_t>();
      consumer.deregistering = c.at("deregistering").get<bool>();
      consumer.ready_ms = c.at("ready").get<int64_t>();
      consumer.tags = c.value("tags", std::map<std::string, std::string>{});
      s->consumers.push_back(std::move(consumer));
    }
    for (const auto& j : m.at("shards")) {
      auto start = parse_hash_key(j.at("s").get<std::string>());
      auto end = parse_hash_key(j.at("e").get<std::string>());
      if (!start || !end || j.at("i").get<uint32_t>() != s->shards.size()) return nullptr;
      Shard& shard = s->add_shard(*start, *end, j.at("t").get<int64_t>());
      if (j.contains("p")) shard.parent = j["p"].get<uint32_t>();
      if (j.contains("a")) shard.adjacent_parent = j["a"].get<uint32_t>();
      shard.trimmed_below = j.value("trim", uint64_t{0});
      shard.next_counter = shard.trimmed_below;
      if (j.contains("closed")) {
        shard.closed = true;
        shard.closed_ms = j["closed"].get<int64_t>();
        shard.next_counter = j.at("n").get<uint64_t>();
      }
    }
    s->index_open_shards();
    if (s->open_shards.empty() && s->status != StreamStatus::kDeleting) return nullptr;
    return s;
  } catch (const json::exception&) {
    return nullptr;
  }
}

}  // namespace sless::services::kinesis
