#include "services/kinesis/store.h"

#include "core/log.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::kinesis {

namespace key = storage::key;

namespace {

constexpr std::string_view kFamily = "kinesis";
constexpr std::string_view kMetaTag = "s";
constexpr std::string_view kRecordTag = "r";
constexpr size_t kRecordHeader = 8 + 2;  // arrival ms, partition key length

std::string meta_prefix_of_scope(std::string_view scope) {
  std::string k(scope);
  key::append_string(k, kMetaTag);
  return k;
}

}  // namespace

Status StreamStore::open(storage::Store* store) {
  store_ = store;
  family_ = store->family(kFamily);
  return family_ ? Status::ok() : Status::internal("cannot open the kinesis column family");
}

std::string StreamStore::meta_key(std::string_view account, std::string_view region, std::string_view name) {
  return key::KeyBuilder(account, region).str(kMetaTag).str(name).take();
}

std::string StreamStore::shard_prefix(std::string_view account, std::string_view region, uint64_t uid,
                                      uint32_t shard) {
  return key::KeyBuilder(account, region).str(kRecordTag).u64(uid).u64(shard).take();
}

std::string StreamStore::record_suffix(uint64_t counter) {
  std::string s;
  key::append_u64(s, counter);
  return s;
}

std::string StreamStore::stream_prefix(std::string_view account, std::string_view region, uint64_t uid) {
  return key::KeyBuilder(account, region).str(kRecordTag).u64(uid).take();
}

void StreamStore::encode_record(std::string& out, int64_t arrival_ms, std::string_view partition_key,
                                std::string_view data) {
  out.reserve(out.size() + kRecordHeader + partition_key.size() + data.size());
  key::append_i64(out, arrival_ms);
  out.push_back(static_cast<char>((partition_key.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(partition_key.size() & 0xff));
  out.append(partition_key);
  out.append(data);
}

bool StreamStore::decode_record(std::string_view value, RecordView* out) {
  if (value.size() < kRecordHeader) return false;
  std::string_view in = value;
  if (!key::read_i64(in, &out->arrival_ms)) return false;
  size_t pk_len = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
  in.remove_prefix(2);
  if (in.size() < pk_len) return false;
  out->partition_key = in.substr(0, pk_len);
  out->data = in.substr(pk_len);
  return true;
}

Status StreamStore::load_metas(const std::function<void(std::string_view)>& visit) const {
  auto it = store_->iterate(family_, "", "");
  it->seek_to_first();
  while (it->valid()) {
    // The scope is the first two components of every key.
    std::string_view k = it->key();
    std::string account;
    std::string region;
    if (!key::read_string(k, &account) || !key::read_string(k, &region)) {
      log::warn("kinesis: skipping a key outside any scope");
      it->next();
      continue;
    }
    std::string scope = key::scope(account, region);
    std::string metas = meta_prefix_of_scope(scope);
    std::string metas_end = key::prefix_end(metas);
    for (it->seek(metas); it->valid() && it->key() < std::string_view(metas_end); it->next()) {
      visit(it->value());
    }
    if (!it->status().is_ok()) return it->status();
    std::string next_scope = key::prefix_end(scope);
    if (next_scope.empty()) break;
    it->seek(next_scope);
  }
  return it->status();
}

Status StreamStore::scan(std::string_view shard_prefix, uint64_t from, uint64_t to,
                         const std::function<bool(const RecordView&)>& visit) const {
  if (from >= to) return Status::ok();
  std::string lower(shard_prefix);
  key::append_u64(lower, from);
  std::string upper(shard_prefix);
  key::append_u64(upper, to);
  auto it = store_->iterate(family_, lower, upper);
  for (it->seek(lower); it->valid(); it->next()) {
    std::string_view k = it->key();
    k.remove_prefix(shard_prefix.size());
    RecordView r;
    if (!key::read_u64(k, &r.counter) || !decode_record(it->value(), &r)) {
      log::warn("kinesis: skipping a corrupt record");
      continue;
    }
    if (!visit(r)) break;
  }
  return it->status();
}

namespace {

std::optional<RecordView> record_at(storage::Iterator& it, std::string_view shard_prefix, std::string* buffer) {
  if (!it.valid()) return std::nullopt;
  buffer->assign(it.key().substr(shard_prefix.size()));
  buffer->append(it.value());
  std::string_view k(buffer->data(), 8);
  RecordView r;
  if (!key::read_u64(k, &r.counter) || !StreamStore::decode_record(std::string_view(*buffer).substr(8), &r)) {
    return std::nullopt;
  }
  return r;
}

}  // namespace

std::optional<RecordView> StreamStore::first_record(std::string_view shard_prefix, std::string* buffer) const {
  std::string upper = key::prefix_end(shard_prefix);
  auto it = store_->iterate(family_, shard_prefix, upper);
  it->seek_to_first();
  return record_at(*it, shard_prefix, buffer);
}

std::optional<RecordView> StreamStore::last_record(std::string_view shard_prefix, std::string* buffer) const {
  std::string upper = key::prefix_end(shard_prefix);
  auto it = store_->iterate(family_, shard_prefix, upper);
  it->seek_to_last();
  return record_at(*it, shard_prefix, buffer);
}

uint64_t StreamStore::first_at_or_after(std::string_view shard_prefix, uint64_t from, uint64_t to,
                                        int64_t time_ms) const {
  std::string upper(shard_prefix);
  key::append_u64(upper, to);
  auto it = store_->iterate(family_, shard_prefix, upper);
  std::string probe;
  std::string buffer;
  // first(c): the first stored record at or after counter c. "first(c) is absent or arrived at
  // or after time_ms" holds from some c on; find the least such c.
  auto first = [&](uint64_t c) {
    probe.assign(shard_prefix);
    key::append_u64(probe, c);
    it->seek(probe);
    return record_at(*it, shard_prefix, &buffer);
  };
  uint64_t lo = from;
  uint64_t hi = to;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    auto r = first(mid);
    if (!r || r->arrival_ms >= time_ms) {
      hi = mid;
    } else {
      lo = r->counter + 1;  // everything up to r arrived too early
    }
  }
  if (lo >= to) return to;
  auto r = first(lo);
  return r ? r->counter : to;
}

void StreamStore::trim(storage::WriteBatch& batch, std::string_view shard_prefix, uint64_t before) const {
  std::string end(shard_prefix);
  key::append_u64(end, before);
  batch.delete_range(family_, shard_prefix, end);
}

}  // namespace sless::services::kinesis
