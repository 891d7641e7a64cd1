#include "services/dynamodb/engine.h"

#include <algorithm>
#include <chrono>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "core/time_format.h"
#include "storage/decimal.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::dynamodb {

namespace key = storage::key;

namespace {

constexpr const char* kFamily = "dynamodb";
constexpr int64_t kRetentionMs = int64_t{24} * 3600 * 1000;
constexpr int64_t kTokenWindowMs = int64_t{10} * 60 * 1000;
constexpr uint64_t kTtlHorizonSeconds = uint64_t{5} * 366 * 24 * 3600;
constexpr size_t kChunk = 1000;
constexpr std::chrono::milliseconds kTick{1000};
constexpr uint64_t kTicksPerTrim = 60;

uint32_t fnv1a(std::string_view s, uint32_t h = 2166136261u) {
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

size_t stripe_of(std::string_view suffix) { return fnv1a(suffix, 0x9747b28cu) % Table::kStripes; }

std::string catalog_prefix(std::string_view kind) { return key::KeyBuilder("", "").str(kind).take(); }

std::string table_meta_key(std::string_view account, std::string_view region, std::string_view name) {
  return key::KeyBuilder("", "").str("table").str(account).str(region).str(name).take();
}

std::string stream_meta_key(uint64_t id) { return key::KeyBuilder("", "").str("stream").u64(id).take(); }

uint64_t nonzero_random() {
  uint64_t v = 0;
  while (v == 0) {
    v = ids::random_u64();
  }
  return v;
}

// The TTL attribute of an item as whole seconds, when it is a non-negative number.
std::optional<uint64_t> ttl_seconds(const Json& item, const std::string& attribute) {
  auto it = item.find(attribute);
  if (it == item.end() || type_of(*it) != Type::kN) {
    return std::nullopt;
  }
  auto d = key::Decimal::parse(payload(*it).get_ref<const std::string&>(), nullptr);
  if (!d || d->sign() < 0 || d->exponent() > 18) {
    return std::nullopt;
  }
  const std::string_view digits = d->digits();
  uint64_t v = 0;
  for (int i = 0; i <= d->exponent(); ++i) {
    v = v * 10 + (static_cast<size_t>(i) < digits.size() ? static_cast<uint64_t>(digits[i] - '0') : 0);
  }
  return v;
}

std::string stream_meta_json(const StreamState& s) {
  Json j{{"id", std::to_string(s.id)},   {"account", s.account},         {"region", s.region},
         {"table", s.table_name},        {"arn", s.arn},                 {"label", s.label},
         {"view_type", s.view_type},     {"shard_id", s.shard_id},       {"key_schema", s.key_schema},
         {"created_ms", s.created_ms},   {"enabled", s.enabled},         {"disabled_ms", s.disabled_ms},
         {"start_seq", std::to_string(s.start_seq)},
         {"trimmed_through", std::to_string(s.trimmed_through)}};
  return dump(j);
}

}  // namespace

// ---- stored values ---------------------------------------------------------------------------

std::optional<StoredItem> split_stored(std::string_view value) {
  if (value.size() < 4) {
    return std::nullopt;
  }
  StoredItem s;
  s.size = static_cast<size_t>(static_cast<uint8_t>(value[0])) | static_cast<size_t>(static_cast<uint8_t>(value[1])) << 8 |
           static_cast<size_t>(static_cast<uint8_t>(value[2])) << 16 |
           static_cast<size_t>(static_cast<uint8_t>(value[3])) << 24;
  s.json = value.substr(4);
  return s;
}

std::string make_stored(size_t size, std::string_view json) {
  std::string out;
  out.reserve(4 + json.size());
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((size >> (8 * i)) & 0xFF));
  }
  out.append(json);
  return out;
}

std::string_view Mutation::old_json() const {
  auto s = split_stored(old_value);
  return s ? s->json : std::string_view();
}

const Json& Mutation::old_item() {
  if (!old_parsed_) {
    if (old_exists) {
      Json j = Json::parse(old_json(), nullptr, /*allow_exceptions=*/false);
      old_parsed_ = j.is_object() ? std::move(j) : Json::object();
    } else {
      old_parsed_ = Json::object();
    }
  }
  return *old_parsed_;
}

std::string sequence_text(uint64_t seq) { return fmt::format("{:021}", seq); }

std::optional<uint64_t> parse_sequence(std::string_view text) {
  if (text.empty() || text.size() > 40) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    if (v > (UINT64_MAX - 9) / 10) {
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::string Table::index_prefix(uint32_t index_id) const {
  std::string p = entry_prefix_;
  key::append_u32(p, index_id);
  return p;
}

std::map<uint32_t, TableCounts> Engine::count_now(const Table& table, const TableDef& def) const {
  std::map<uint32_t, TableCounts> out;
  auto count_range = [&](const std::string& prefix, TableCounts& c) {
    auto it = store_->iterate(family_, prefix, key::prefix_end(prefix));
    for (it->seek_to_first(); it->valid(); it->next()) {
      if (auto stored = split_stored(it->value())) {
        ++c.items;
        c.bytes += static_cast<int64_t>(stored->size);
      }
    }
  };
  count_range(table.item_prefix_, out[0]);
  for (const IndexDef& index : def.indexes) {
    count_range(table.index_prefix(index.id), out[index.id]);
  }
  return out;
}

TableCounts Engine::counts(const std::shared_ptr<Table>& table, uint32_t index_id) {
  constexpr int64_t kLargeTableMs = 60 * 1000;
  const int64_t now = clock_->now_ms();
  std::unique_lock lock(table->counts_mutex_);
  const bool large = table->counts_[0].items > kExactCountLimit;
  const bool changed = table->changed_.load(std::memory_order_acquire);
  if (table->counted_ms_ < 0 || (!large && changed)) {
    table->changed_.store(false, std::memory_order_release);
    lock.unlock();
    auto fresh = count_now(*table, *table->def());
    lock.lock();
    table->counts_ = std::move(fresh);
    table->counted_ms_ = now;
  } else if (large && changed && now - table->counted_ms_ > kLargeTableMs && !table->counting_ &&
             scheduler_ != nullptr) {
    table->counting_ = true;
    table->changed_.store(false, std::memory_order_release);
    scheduler_->post([this, table] {
      auto fresh = count_now(*table, *table->def());
      std::lock_guard guard(table->counts_mutex_);
      table->counts_ = std::move(fresh);
      table->counted_ms_ = clock_->now_ms();
      table->counting_ = false;
    });
  }
  auto it = table->counts_.find(index_id);
  return it == table->counts_.end() ? TableCounts{} : it->second;
}

void Engine::lock_all(Table& table) {
  for (auto& m : table.stripes_) {
    m.lock();
  }
}

void Engine::unlock_all(Table& table) {
  for (auto it = table.stripes_.rbegin(); it != table.stripes_.rend(); ++it) {
    it->unlock();
  }
}

// ---- keys ------------------------------------------------------------------------------------

uint32_t Engine::bucket_of(std::string_view encoded_pk) { return fnv1a(encoded_pk); }

std::string Engine::item_suffix(const KeySchema& schema, const Json& item) {
  auto hash = item.find(schema.hash.name);
  if (hash == item.end() || type_of(*hash) != schema.hash.type) {
    return {};
  }
  std::string pk;
  if (!append_key(pk, schema.hash.type, payload(*hash))) {
    return {};
  }
  std::string out;
  out.reserve(4 + pk.size() + 24);
  key::append_u32(out, bucket_of(pk));
  out += pk;
  if (schema.range) {
    auto range = item.find(schema.range->name);
    if (range == item.end() || type_of(*range) != schema.range->type ||
        !append_key(out, schema.range->type, payload(*range))) {
      return {};
    }
  }
  return out;
}

std::optional<std::string> Engine::index_entry_key(const Table& table, const TableDef& def, const IndexDef& index,
                                                   const Json& item) {
  auto hash = item.find(index.key.hash.name);
  if (hash == item.end() || type_of(*hash) != index.key.hash.type) {
    return std::nullopt;
  }
  std::string ipk;
  if (!append_key(ipk, index.key.hash.type, payload(*hash))) {
    return std::nullopt;
  }
  std::string out = table.index_prefix(index.id);
  key::append_u32(out, bucket_of(ipk));
  out += ipk;
  if (index.key.range) {
    auto range = item.find(index.key.range->name);
    if (range == item.end() || type_of(*range) != index.key.range->type ||
        !append_key(out, index.key.range->type, payload(*range))) {
      return std::nullopt;
    }
  }
  const std::string table_key = item_suffix(def.key, item);
  if (table_key.empty()) {
    return std::nullopt;
  }
  out.append(table_key, 4, std::string::npos);
  return out;
}

// ---- lifecycle -------------------------------------------------------------------------------

Engine::Engine() : listeners_(std::make_shared<const std::map<uint64_t, StreamListener>>()) {}

Engine::~Engine() { stop(); }

std::string Engine::table_map_key(std::string_view account, std::string_view region, std::string_view name) const {
  std::string k;
  k.reserve(account.size() + region.size() + name.size() + 2);
  k.append(account).push_back('\0');
  k.append(region).push_back('\0');
  k.append(name);
  return k;
}

std::shared_ptr<Table> Engine::make_table(std::shared_ptr<const TableDef> def) {
  auto t = std::make_shared<Table>();
  t->scope_ = key::scope(def->account, def->region);
  t->item_prefix_ = key::KeyBuilder(def->account, def->region).str("i").u64(def->id).take();
  t->entry_prefix_ = key::KeyBuilder(def->account, def->region).str("x").u64(def->id).take();
  t->ttl_prefix_ = key::KeyBuilder(def->account, def->region).str("e").u64(def->id).take();
  t->def_ = std::move(def);
  return t;
}

Status Engine::start(storage::Store* store, Scheduler* scheduler, Clock* clock) {
  store_ = store;
  scheduler_ = scheduler;
  clock_ = clock;
  family_ = store_->family(kFamily);
  if (family_ == nullptr) {
    return Status::internal("cannot open the dynamodb column family");
  }
  {
    std::unique_lock lock(streams_mutex_);
    const std::string prefix = catalog_prefix("stream");
    auto it = store_->iterate(family_, prefix, key::prefix_end(prefix));
    for (it->seek_to_first(); it->valid(); it->next()) {
      Json j = Json::parse(it->value(), nullptr, false);
      if (!j.is_object()) {
        log::warn("dynamodb: skipping an unreadable stream record");
        continue;
      }
      auto s = std::make_shared<StreamState>();
      s->id = std::strtoull(j.value("id", "0").c_str(), nullptr, 10);
      s->account = j.value("account", "");
      s->region = j.value("region", "");
      s->table_name = j.value("table", "");
      s->arn = j.value("arn", "");
      s->label = j.value("label", "");
      s->view_type = j.value("view_type", "");
      s->shard_id = j.value("shard_id", "");
      s->key_schema = j.value("key_schema", Json::array());
      s->created_ms = j.value("created_ms", int64_t{0});
      s->enabled = j.value("enabled", false);
      s->disabled_ms = j.value("disabled_ms", int64_t{0});
      s->start_seq = std::strtoull(j.value("start_seq", "0").c_str(), nullptr, 10);
      s->trimmed_through = std::strtoull(j.value("trimmed_through", "0").c_str(), nullptr, 10);
      s->records_prefix = key::KeyBuilder(s->account, s->region).str("r").u64(s->id).take();
      // Sequence numbers continue after the last record and never fall behind the clock.
      uint64_t next = std::max<uint64_t>({s->start_seq, s->trimmed_through + 1,
                                          static_cast<uint64_t>(clock_->now_ms()) * 1000});
      auto last = store_->iterate(family_, s->records_prefix, key::prefix_end(s->records_prefix));
      last->seek_to_last();
      if (last->valid()) {
        std::string_view k = last->key();
        k.remove_prefix(s->records_prefix.size());
        uint64_t seq = 0;
        if (key::read_u64(k, &seq)) {
          next = std::max(next, seq + 1);
        }
      }
      s->next_seq = next;
      stream_ids_[s->arn] = s->id;
      streams_[s->id] = std::move(s);
    }
  }
  {
    std::unique_lock lock(tables_mutex_);
    const std::string prefix = catalog_prefix("table");
    auto it = store_->iterate(family_, prefix, key::prefix_end(prefix));
    for (it->seek_to_first(); it->valid(); it->next()) {
      Json j = Json::parse(it->value(), nullptr, false);
      auto def = TableDef::from_meta(j);
      if (!def) {
        log::warn("dynamodb: skipping an unreadable table definition");
        continue;
      }
      auto table = make_table(std::make_shared<const TableDef>(std::move(*def)));
      const TableDef& d = *table->def_;
      tables_[table_map_key(d.account, d.region, d.name)] = table;
      for (const IndexDef& i : d.indexes) {
        if (i.creating) {
          schedule_backfill(table, i.id, "");
        }
      }
      if (d.ttl_enabled) {
        schedule_ttl_backfill(table, "");
      }
    }
  }
  {
    std::lock_guard lock(timer_mutex_);
    stopped_ = false;
  }
  arm_timer();
  return Status::ok();
}

void Engine::stop() {
  std::lock_guard lock(timer_mutex_);
  stopped_ = true;
  if (timer_ != 0 && scheduler_ != nullptr) {
    scheduler_->cancel(timer_);
    timer_ = 0;
  }
}

void Engine::arm_timer() {
  if (scheduler_ == nullptr) {
    return;
  }
  std::lock_guard lock(timer_mutex_);
  if (stopped_) {
    return;
  }
  timer_ = scheduler_->after(kTick, [this] {
    {
      std::lock_guard lock(timer_mutex_);
      timer_ = 0;
      if (stopped_) {
        return;
      }
    }
    sweep_ttl();
    if (++ticks_ % kTicksPerTrim == 0) {
      trim_streams();
    }
    arm_timer();
  });
}

Status Engine::reset() {
  std::unique_lock tables(tables_mutex_);
  std::unique_lock streams(streams_mutex_);
  for (auto& [k, t] : tables_) {
    lock_all(*t);
    t->deleted_ = true;
    unlock_all(*t);
  }
  tables_.clear();
  streams_.clear();
  stream_ids_.clear();
  return store_->clear(family_);
}

Status Engine::reset_streams() {
  std::shared_lock lock(streams_mutex_);
  storage::WriteBatch batch;
  for (auto& [id, s] : streams_) {
    std::lock_guard guard(s->mu);
    batch.delete_range(family_, s->records_prefix, key::prefix_end(s->records_prefix));
    s->trimmed_through = s->next_seq - 1;
    batch.put(family_, stream_meta_key(s->id), stream_meta_json(*s));
  }
  return store_->write(batch);
}

// ---- tables ----------------------------------------------------------------------------------

std::shared_ptr<Table> Engine::find(std::string_view account, std::string_view region, std::string_view name) const {
  thread_local std::string k;
  k.clear();
  k.append(account).push_back('\0');
  k.append(region).push_back('\0');
  k.append(name);
  std::shared_lock lock(tables_mutex_);
  auto it = tables_.find(k);
  return it == tables_.end() ? nullptr : it->second;
}

std::vector<std::string> Engine::table_names(std::string_view account, std::string_view region) const {
  std::vector<std::string> names;
  std::shared_lock lock(tables_mutex_);
  for (const auto& [k, t] : tables_) {
    const TableDef& d = *t->def();
    if (d.account == account && d.region == region) {
      names.push_back(d.name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::shared_ptr<Table>> Engine::all_tables() const {
  std::vector<std::shared_ptr<Table>> out;
  std::shared_lock lock(tables_mutex_);
  for (const auto& [k, t] : tables_) {
    out.push_back(t);
  }
  return out;
}

Status Engine::persist_def(const TableDef& def, storage::WriteBatch* batch) {
  const std::string k = table_meta_key(def.account, def.region, def.name);
  const std::string v = dump(def.to_meta());
  if (batch != nullptr) {
    batch->put(family_, k, v);
    return Status::ok();
  }
  return store_->put(family_, k, v);
}

Status Engine::persist_stream(const StreamState& s, storage::WriteBatch* batch) {
  const std::string v = stream_meta_json(s);
  if (batch != nullptr) {
    batch->put(family_, stream_meta_key(s.id), v);
    return Status::ok();
  }
  return store_->put(family_, stream_meta_key(s.id), v);
}

std::shared_ptr<StreamState> Engine::open_stream(const TableDef& def) {
  auto s = std::make_shared<StreamState>();
  const int64_t now = clock_->now_ms();
  s->id = nonzero_random();
  s->account = def.account;
  s->region = def.region;
  s->table_name = def.name;
  std::string label = timefmt::iso8601_ms(now);
  if (!label.empty() && label.back() == 'Z') {
    label.pop_back();
  }
  s->label = label;
  s->arn = def.arn() + "/stream/" + label;
  s->view_type = def.stream_view_type;
  s->shard_id = fmt::format("shardId-{:020}-{}", now, ids::random_hex(8));
  s->key_schema = def.key.to_json();
  s->created_ms = now;
  s->enabled = true;
  s->start_seq = static_cast<uint64_t>(now) * 1000;
  s->next_seq = s->start_seq;
  s->records_prefix = key::KeyBuilder(def.account, def.region).str("r").u64(s->id).take();
  return s;
}

Outcome<std::shared_ptr<Table>> Engine::create_table(TableDef def) {
  std::unique_lock lock(tables_mutex_);
  const std::string map_key = table_map_key(def.account, def.region, def.name);
  if (tables_.count(map_key) != 0) {
    return ServiceError("ResourceInUseException", "Table already exists: " + def.name);
  }
  def.id = nonzero_random();
  storage::WriteBatch batch;
  std::shared_ptr<StreamState> stream;
  if (def.stream_enabled) {
    stream = open_stream(def);
    def.stream_id = stream->id;
    def.stream_label = stream->label;
    persist_stream(*stream, &batch).ignore();
  }
  persist_def(def, &batch).ignore();
  if (Status st = store_->write(batch); !st.is_ok()) {
    return ServiceError::internal("cannot store the table: " + st.to_string());
  }
  auto table = make_table(std::make_shared<const TableDef>(std::move(def)));
  tables_[map_key] = table;
  if (stream) {
    std::unique_lock s(streams_mutex_);
    stream_ids_[stream->arn] = stream->id;
    streams_[stream->id] = stream;
  }
  return table;
}

Outcome<std::shared_ptr<const TableDef>> Engine::delete_table(std::string_view account, std::string_view region,
                                                              std::string_view name) {
  std::shared_ptr<Table> table = find(account, region, name);
  if (!table) {
    return ServiceError("ResourceNotFoundException", "Requested resource not found: Table: " + std::string(name) +
                                                         " not found");
  }
  std::lock_guard meta(table->meta_mutex_);
  std::shared_ptr<const TableDef> def = table->def();
  if (def->deletion_protection) {
    return ServiceError::validation(
        "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.");
  }
  lock_all(*table);
  if (table->deleted_) {
    unlock_all(*table);
    return ServiceError("ResourceNotFoundException", "Requested resource not found: Table: " + std::string(name) +
                                                         " not found");
  }
  storage::WriteBatch batch;
  for (const std::string* prefix : {&table->item_prefix_, &table->entry_prefix_, &table->ttl_prefix_}) {
    batch.delete_range(family_, *prefix, key::prefix_end(*prefix));
  }
  batch.del(family_, table_meta_key(def->account, def->region, def->name));
  std::shared_ptr<StreamState> stream = def->stream_id != 0 ? find_stream(def->stream_arn()) : nullptr;
  if (stream) {
    std::lock_guard s(stream->mu);
    if (stream->enabled) {
      stream->enabled = false;
      stream->disabled_ms = clock_->now_ms();
      persist_stream(*stream, &batch).ignore();
    }
  }
  Status st = store_->write(batch);
  if (st.is_ok()) {
    table->deleted_ = true;
  }
  unlock_all(*table);
  if (!st.is_ok()) {
    return ServiceError::internal("cannot delete the table: " + st.to_string());
  }
  std::unique_lock lock(tables_mutex_);
  tables_.erase(table_map_key(account, region, name));
  return def;
}

Outcome<std::shared_ptr<const TableDef>> Engine::change(
    Table& table, const std::function<std::optional<ServiceError>(TableDef&)>& fn) {
  std::lock_guard meta(table.meta_mutex_);
  TableDef def = *table.def();
  if (auto e = fn(def)) {
    return std::move(*e);
  }
  if (Status st = persist_def(def, nullptr); !st.is_ok()) {
    return ServiceError::internal("cannot store the table: " + st.to_string());
  }
  auto shared = std::make_shared<const TableDef>(std::move(def));
  table.set_def(shared);
  return std::shared_ptr<const TableDef>(shared);
}

Outcome<std::shared_ptr<const TableDef>> Engine::commit_def(Table& table, TableDef def, storage::WriteBatch& batch,
                                                            const std::function<void()>& before,
                                                            const std::function<void(bool)>& after) {
  lock_all(table);
  if (before) {
    before();
  }
  Status st = store_->write(batch);
  auto shared = std::make_shared<const TableDef>(std::move(def));
  if (st.is_ok()) {
    table.set_def(shared);
    table.changed_.store(true, std::memory_order_release);
  }
  if (after) {
    after(st.is_ok());
  }
  unlock_all(table);
  if (!st.is_ok()) {
    return ServiceError::internal("cannot store the table: " + st.to_string());
  }
  return std::shared_ptr<const TableDef>(shared);
}

Outcome<std::shared_ptr<const TableDef>> Engine::set_stream(Table& table, bool enabled, const std::string& view_type) {
  std::lock_guard meta(table.meta_mutex_);
  TableDef def = *table.def();
  if (enabled && def.stream_enabled) {
    return ServiceError::validation("Table already has an enabled stream: TableName: " + def.name);
  }
  if (!enabled && !def.stream_enabled) {
    return ServiceError::validation("Table already has stream disabled: TableName: " + def.name);
  }
  storage::WriteBatch batch;
  std::shared_ptr<StreamState> opened;
  std::shared_ptr<StreamState> closed;
  if (enabled) {
    def.stream_enabled = true;
    def.stream_view_type = view_type;
    opened = open_stream(def);
    def.stream_id = opened->id;
    def.stream_label = opened->label;
    persist_stream(*opened, &batch).ignore();
  } else {
    def.stream_enabled = false;
    closed = find_stream(def.stream_arn());
  }
  persist_def(def, &batch).ignore();
  auto shared = commit_def(
      table, std::move(def), batch,
      [&] {
        if (closed) {
          std::lock_guard s(closed->mu);
          closed->enabled = false;
          closed->disabled_ms = clock_->now_ms();
          persist_stream(*closed, &batch).ignore();
        }
      },
      [&](bool ok) {
        if (closed && !ok) {
          std::lock_guard s(closed->mu);
          closed->enabled = true;
        }
      });
  if (!shared.ok()) {
    return shared;
  }
  if (opened) {
    std::unique_lock s(streams_mutex_);
    stream_ids_[opened->arn] = opened->id;
    streams_[opened->id] = opened;
  }
  return shared;
}

Outcome<std::shared_ptr<const TableDef>> Engine::set_ttl(const std::shared_ptr<Table>& self, bool enabled,
                                                         const std::string& attribute) {
  Table& table = *self;
  std::unique_lock meta(table.meta_mutex_);
  TableDef def = *table.def();
  def.ttl_enabled = enabled;
  if (enabled) {
    def.ttl_attribute = attribute;
  }
  storage::WriteBatch batch;
  persist_def(def, &batch).ignore();
  if (!enabled) {
    batch.delete_range(family_, table.ttl_prefix_, key::prefix_end(table.ttl_prefix_));
  }
  auto shared = commit_def(table, std::move(def), batch);
  if (!shared.ok()) {
    return shared;
  }
  meta.unlock();  // the backfill takes it again
  if (enabled) {
    schedule_ttl_backfill(self, "");
  }
  return shared;
}

Outcome<std::shared_ptr<const TableDef>> Engine::add_index(const std::shared_ptr<Table>& self, IndexDef index,
                                                           const Json& attribute_definitions) {
  Table& table = *self;
  std::unique_lock meta(table.meta_mutex_);
  TableDef def = *table.def();
  Json merged = def.attribute_definitions;
  for (const Json& d : attribute_definitions) {
    bool known = false;
    for (const Json& e : merged) {
      known = known || e.value("AttributeName", "") == d.value("AttributeName", "");
    }
    if (!known) {
      merged.push_back(d);
    }
  }
  if (def.find_index(index.name) != nullptr) {
    return ServiceError::validation("One or more parameter values were invalid: Duplicate index name: " + index.name);
  }
  def.attribute_definitions = std::move(merged);
  index.id = def.next_index_id++;
  index.creating = true;
  const uint32_t id = index.id;
  def.indexes.push_back(std::move(index));
  storage::WriteBatch batch;
  persist_def(def, &batch).ignore();
  auto shared = commit_def(table, std::move(def), batch);
  meta.unlock();  // the backfill takes it again
  if (shared.ok()) {
    schedule_backfill(self, id, "");
  }
  return shared;
}

Outcome<std::shared_ptr<const TableDef>> Engine::delete_index(Table& table, const std::string& index_name) {
  std::lock_guard meta(table.meta_mutex_);
  TableDef def = *table.def();
  auto it = std::find_if(def.indexes.begin(), def.indexes.end(),
                         [&](const IndexDef& i) { return i.name == index_name && i.global; });
  if (it == def.indexes.end()) {
    return ServiceError("ResourceNotFoundException", "Requested resource not found");
  }
  const uint32_t id = it->id;
  def.indexes.erase(it);
  storage::WriteBatch batch;
  const std::string prefix = table.index_prefix(id);
  batch.delete_range(family_, prefix, key::prefix_end(prefix));
  persist_def(def, &batch).ignore();
  return commit_def(table, std::move(def), batch);
}

void Engine::schedule_backfill(std::shared_ptr<Table> table, uint32_t index_id, std::string after) {
  if (scheduler_ == nullptr) {
    backfill_step(table, index_id, std::move(after));
    return;
  }
  scheduler_->post([this, table = std::move(table), index_id, after = std::move(after)] {
    backfill_step(table, index_id, after);
  });
}

// One chunk of a GSI backfill, with every stripe of the table locked: writers meanwhile keep
// the new index current themselves, so an entry that already exists is left alone.
void Engine::backfill_step(const std::shared_ptr<Table>& table, uint32_t index_id, std::string after) {
  std::lock_guard meta(table->meta_mutex_);
  lock_all(*table);
  std::shared_ptr<const TableDef> def = table->def();
  const IndexDef* index = nullptr;
  for (const IndexDef& i : def->indexes) {
    if (i.id == index_id) {
      index = &i;
    }
  }
  if (table->deleted_ || index == nullptr || !index->creating) {
    unlock_all(*table);
    return;
  }
  const std::string& prefix = table->item_prefix_;
  auto it = store_->iterate(family_, after.empty() ? prefix : after + '\0', key::prefix_end(prefix));
  storage::WriteBatch batch;
  size_t n = 0;
  std::string last;
  for (it->seek_to_first(); it->valid() && n < kChunk; it->next(), ++n) {
    last = std::string(it->key());
    auto stored = split_stored(it->value());
    if (!stored) {
      continue;
    }
    Json item = Json::parse(stored->json, nullptr, false);
    if (!item.is_object()) {
      continue;
    }
    auto entry = index_entry_key(*table, *def, *index, item);
    auto projected = entry ? index_projection(*def, *index, item) : std::nullopt;
    if (!projected) {
      continue;
    }
    const bool all = index->projection == ProjectionType::kAll;
    batch.put(family_, *entry,
              make_stored(all ? stored->size : item_size(*projected), all ? stored->json : dump(*projected)));
  }
  const bool done = !it->valid();
  std::shared_ptr<const TableDef> finished;
  if (done) {
    TableDef d = *def;
    for (IndexDef& i : d.indexes) {
      if (i.id == index_id) {
        i.creating = false;
      }
    }
    persist_def(d, &batch).ignore();
    finished = std::make_shared<const TableDef>(std::move(d));
  }
  Status st = store_->write(batch);
  table->changed_.store(true, std::memory_order_release);
  if (!st.is_ok()) {
    log::error("dynamodb: index backfill of {} failed: {}", def->name, st.to_string());
  } else if (finished) {
    table->set_def(finished);
  }
  unlock_all(*table);
  if (!done && st.is_ok()) {
    schedule_backfill(table, index_id, std::move(last));
  }
}

void Engine::schedule_ttl_backfill(std::shared_ptr<Table> table, std::string after) {
  auto step = [this, table, after = std::move(after)] {
    std::lock_guard meta(table->meta_mutex_);
    lock_all(*table);
    std::shared_ptr<const TableDef> def = table->def();
    if (table->deleted_ || !def->ttl_enabled) {
      unlock_all(*table);
      return;
    }
    const std::string& prefix = table->item_prefix_;
    auto it = store_->iterate(family_, after.empty() ? prefix : after + '\0', key::prefix_end(prefix));
    storage::WriteBatch batch;
    size_t n = 0;
    std::string last;
    for (it->seek_to_first(); it->valid() && n < kChunk; it->next(), ++n) {
      last = std::string(it->key());
      auto stored = split_stored(it->value());
      if (!stored || stored->json.find(def->ttl_attribute) == std::string_view::npos) {
        continue;
      }
      Json item = Json::parse(stored->json, nullptr, false);
      if (auto expiry = item.is_object() ? ttl_seconds(item, def->ttl_attribute) : std::nullopt) {
        std::string k = table->ttl_prefix_;
        key::append_u64(k, *expiry);
        k.append(std::string_view(last).substr(prefix.size()));
        batch.put(family_, k, "");
      }
    }
    const bool done = !it->valid();
    Status st = batch.empty() ? Status::ok() : store_->write(batch);
    unlock_all(*table);
    if (!st.is_ok()) {
      log::error("dynamodb: TTL backfill of {} failed: {}", def->name, st.to_string());
    } else if (!done) {
      schedule_ttl_backfill(table, std::move(last));
    }
  };
  if (scheduler_ == nullptr) {
    step();
  } else {
    scheduler_->post(std::move(step));
  }
}

// ---- items -----------------------------------------------------------------------------------

std::optional<std::string> Engine::get(const Table& table, std::string_view suffix) const {
  thread_local std::string k;
  k.assign(table.item_prefix_).append(suffix);
  std::string value;
  if (!store_->get(family_, k, &value).is_ok()) {
    return std::nullopt;
  }
  return value;
}

std::unique_ptr<storage::Iterator> Engine::iterate(std::string_view lower, std::string_view upper) const {
  return store_->iterate(family_, lower, upper);
}

std::optional<std::string> Engine::get_raw(const std::string& k) const {
  std::string value;
  if (!store_->get(family_, k, &value).is_ok()) {
    return std::nullopt;
  }
  return value;
}

std::string Engine::token_key(std::string_view account, std::string_view region, std::string_view token) const {
  return key::KeyBuilder("", "").str("token").str(account).str(region).str(token).take();
}

// A stream record waiting for its sequence number.
struct Engine::Pending {
  std::shared_ptr<StreamState> stream;
  const Mutation* m = nullptr;
  const char* event = "";
};

Outcome<Engine::WriteResult> Engine::write(std::vector<Mutation>& ms, const Decide& decide,
                                           const std::vector<std::pair<std::string, std::string>>& extra) {
  // Lock every item's stripe, in one global order.
  std::vector<std::pair<Table*, size_t>> locks;
  locks.reserve(ms.size());
  for (Mutation& m : ms) {
    m.stripe_ = stripe_of(m.suffix);
    locks.emplace_back(m.table.get(), m.stripe_);
  }
  std::sort(locks.begin(), locks.end());
  locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
  for (auto& [t, s] : locks) {
    t->stripes_[s].lock();
  }
  struct Unlock {
    std::vector<std::pair<Table*, size_t>>& locks;
    ~Unlock() {
      for (auto it = locks.rbegin(); it != locks.rend(); ++it) {
        it->first->stripes_[it->second].unlock();
      }
    }
  } unlock{locks};

  std::string full_key;
  for (Mutation& m : ms) {
    if (m.table->deleted_) {
      return ServiceError("ResourceNotFoundException", "Requested resource not found");
    }
    m.def = m.table->def();
    m.old_value.clear();
    m.old_exists = false;
    m.old_size = 0;
    const TableDef& def = *m.def;
    m.read_old_ = m.needs_old || !def.indexes.empty() || def.stream_enabled || def.ttl_enabled;
    if (!m.read_old_) {
      continue;  // a blind write: nothing depends on the item it replaces
    }
    full_key.assign(m.table->item_prefix_).append(m.suffix);
    m.old_exists = store_->get(family_, full_key, &m.old_value).is_ok();
    if (m.old_exists) {
      auto s = split_stored(m.old_value);
      m.old_size = s ? s->size : 0;
    }
  }
  bool accepted = true;
  for (size_t i = 0; i < ms.size(); ++i) {
    if (!decide(i, ms[i])) {
      accepted = false;
    }
  }
  if (!accepted) {
    return WriteResult::kRejected;
  }

  storage::WriteBatch batch;
  std::vector<Pending> pending;
  for (Mutation& m : ms) {
    if (m.action == Mutation::Action::kKeep || (m.action == Mutation::Action::kDelete && m.read_old_ && !m.old_exists)) {
      continue;
    }
    Table& table = *m.table;
    const TableDef& def = *m.def;
    const bool put = m.action == Mutation::Action::kPut;
    full_key.assign(table.item_prefix_).append(m.suffix);
    if (put) {
      if (m.new_json.empty()) {
        m.new_json = dump(m.new_item);
      }
      batch.put(family_, full_key, make_stored(m.new_size, m.new_json));
    } else {
      batch.del(family_, full_key);
    }

    for (const IndexDef& index : def.indexes) {
      const std::optional<std::string> old_key =
          m.old_exists ? index_entry_key(table, def, index, m.old_item()) : std::nullopt;
      const std::optional<std::string> new_key =
          put ? index_entry_key(table, def, index, m.new_item) : std::nullopt;
      if (old_key && (!new_key || *old_key != *new_key)) {
        batch.del(family_, *old_key);
      }
      if (new_key) {
        if (index.projection == ProjectionType::kAll) {
          batch.put(family_, *new_key, make_stored(m.new_size, m.new_json));
        } else {
          Json projected = *index_projection(def, index, m.new_item);
          batch.put(family_, *new_key, make_stored(item_size(projected), dump(projected)));
        }
      }
    }

    if (def.ttl_enabled) {
      constexpr uint64_t kNone = UINT64_MAX;
      const uint64_t old_exp = m.old_exists ? ttl_seconds(m.old_item(), def.ttl_attribute).value_or(kNone) : kNone;
      const uint64_t new_exp = put ? ttl_seconds(m.new_item, def.ttl_attribute).value_or(kNone) : kNone;
      if (old_exp != new_exp) {
        std::string k;
        if (old_exp != kNone) {
          k = table.ttl_prefix_;
          key::append_u64(k, old_exp);
          k.append(m.suffix);
          batch.del(family_, k);
        }
        if (new_exp != kNone) {
          k = table.ttl_prefix_;
          key::append_u64(k, new_exp);
          k.append(m.suffix);
          batch.put(family_, k, "");
        }
      }
    }

    if (def.stream_enabled && def.stream_id != 0) {
      bool changed = true;
      if (put && m.old_exists) {
        changed = m.old_json() != m.new_json &&
                  !values_equal(Json{{"M", m.old_item()}}, Json{{"M", m.new_item}});
      }
      if (changed) {
        std::shared_ptr<StreamState> stream;
        {
          std::shared_lock lock(streams_mutex_);
          auto it = streams_.find(def.stream_id);
          if (it != streams_.end()) {
            stream = it->second;
          }
        }
        if (stream) {
          pending.push_back({std::move(stream), &m, !put ? "REMOVE" : m.old_exists ? "MODIFY" : "INSERT"});
        }
      }
    }
  }
  for (const auto& [k, v] : extra) {
    batch.put(family_, k, v);
  }
  if (batch.empty()) {
    return WriteResult::kCommitted;
  }

  // Stream records get their sequence numbers under their stream's lock, held until the batch
  // is written: records become visible in sequence order, and none is ever missing.
  std::vector<StreamState*> streams;
  for (const Pending& p : pending) {
    streams.push_back(p.stream.get());
  }
  std::sort(streams.begin(), streams.end(), [](StreamState* a, StreamState* b) { return a->id < b->id; });
  streams.erase(std::unique(streams.begin(), streams.end()), streams.end());
  for (StreamState* s : streams) {
    s->mu.lock();
  }
  std::vector<std::pair<std::string, uint64_t>> appended;
  const int64_t now = clock_->now_ms();
  for (const Pending& p : pending) {
    StreamState& s = *p.stream;
    if (!s.enabled) {
      continue;
    }
    const Mutation& m = *p.m;
    const uint64_t seq = s.next_seq++;
    const bool new_image = (s.view_type == "NEW_IMAGE" || s.view_type == "NEW_AND_OLD_IMAGES") &&
                           m.action == Mutation::Action::kPut;
    const bool old_image = (s.view_type == "OLD_IMAGE" || s.view_type == "NEW_AND_OLD_IMAGES") && m.old_exists;
    const std::string keys = dump(m.key_item);
    size_t size = item_size(m.key_item) + (new_image ? m.new_size : 0) + (old_image ? m.old_size : 0);
    std::string rec;
    rec.reserve(256 + keys.size() + (new_image ? m.new_json.size() : 0) + (old_image ? m.old_value.size() : 0));
    rec += R"({"awsRegion":")";
    rec += s.region;
    rec += R"(","dynamodb":{"ApproximateCreationDateTime":)";
    rec += std::to_string(now / 1000);
    rec += R"(,"Keys":)";
    rec += keys;
    if (new_image) {
      rec += R"(,"NewImage":)";
      rec += m.new_json;
    }
    if (old_image) {
      rec += R"(,"OldImage":)";
      rec += m.old_json();
    }
    rec += R"(,"SequenceNumber":")";
    rec += sequence_text(seq);
    rec += R"(","SizeBytes":)";
    rec += std::to_string(size);
    rec += R"(,"StreamViewType":")";
    rec += s.view_type;
    rec += R"("},"eventID":")";
    rec += ids::random_hex(32);
    rec += R"(","eventName":")";
    rec += p.event;
    rec += R"(","eventSource":"aws:dynamodb","eventVersion":"1.1")";
    if (m.by_ttl) {
      rec += R"(,"userIdentity":{"PrincipalId":"dynamodb.amazonaws.com","Type":"Service"})";
    }
    rec += '}';
    std::string k = s.records_prefix;
    key::append_u64(k, seq);
    std::string v;
    v.reserve(8 + rec.size());
    key::append_i64(v, now);
    v += rec;
    batch.put(family_, k, v);
    bool merged = false;
    for (auto& [arn, last] : appended) {
      if (arn == s.arn) {
        last = seq;
        merged = true;
      }
    }
    if (!merged) {
      appended.emplace_back(s.arn, seq);
    }
  }
  Status st = store_->write(batch);
  for (auto it = streams.rbegin(); it != streams.rend(); ++it) {
    (*it)->mu.unlock();
  }
  for (const Mutation& m : ms) {
    // Mostly a read of a cache line every writer shares, not a write to it.
    if (!m.table->changed_.load(std::memory_order_relaxed)) {
      m.table->changed_.store(true, std::memory_order_release);
    }
  }
  if (!st.is_ok()) {
    log::error("dynamodb: write failed: {}", st.to_string());
    return ServiceError::internal("the write could not be stored: " + st.message());
  }
  if (!appended.empty()) {
    notify(appended);
  }
  return WriteResult::kCommitted;
}

// ---- streams ---------------------------------------------------------------------------------

std::shared_ptr<StreamState> Engine::find_stream(std::string_view arn) const {
  std::shared_lock lock(streams_mutex_);
  auto it = stream_ids_.find(std::string(arn));
  if (it == stream_ids_.end()) {
    return nullptr;
  }
  auto s = streams_.find(it->second);
  return s == streams_.end() ? nullptr : s->second;
}

std::vector<std::shared_ptr<StreamState>> Engine::streams(std::string_view account, std::string_view region) const {
  std::vector<std::shared_ptr<StreamState>> out;
  {
    std::shared_lock lock(streams_mutex_);
    for (const auto& [id, s] : streams_) {
      if (s->account == account && s->region == region) {
        out.push_back(s);
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a->table_name != b->table_name ? a->table_name < b->table_name : a->created_ms < b->created_ms;
  });
  return out;
}

std::vector<StreamRecord> Engine::read_stream(const StreamState& stream, uint64_t from, size_t limit,
                                              size_t max_bytes) const {
  std::vector<StreamRecord> out;
  std::string lower = stream.records_prefix;
  key::append_u64(lower, from);
  auto it = store_->iterate(family_, lower, key::prefix_end(stream.records_prefix));
  size_t bytes = 0;
  for (it->seek_to_first(); it->valid() && out.size() < limit && bytes < max_bytes; it->next()) {
    std::string_view k = it->key();
    k.remove_prefix(stream.records_prefix.size());
    std::string_view v = it->value();
    StreamRecord r;
    if (!key::read_u64(k, &r.sequence) || !key::read_i64(v, &r.created_ms)) {
      continue;
    }
    r.json = std::string(v);
    bytes += r.json.size();
    out.push_back(std::move(r));
  }
  return out;
}

uint64_t Engine::add_stream_listener(StreamListener listener) {
  std::lock_guard lock(listeners_mutex_);
  auto next = std::make_shared<std::map<uint64_t, StreamListener>>(*listeners_);
  const uint64_t id = next_listener_++;
  (*next)[id] = std::move(listener);
  listeners_ = std::move(next);
  return id;
}

void Engine::remove_stream_listener(uint64_t id) {
  std::lock_guard lock(listeners_mutex_);
  auto next = std::make_shared<std::map<uint64_t, StreamListener>>(*listeners_);
  next->erase(id);
  listeners_ = std::move(next);
}

void Engine::notify(const std::vector<std::pair<std::string, uint64_t>>& appended) {
  std::shared_ptr<const std::map<uint64_t, StreamListener>> listeners;
  {
    std::lock_guard lock(listeners_mutex_);
    listeners = listeners_;
  }
  for (const auto& [id, fn] : *listeners) {
    for (const auto& [arn, seq] : appended) {
      try {
        fn(arn, seq);
      } catch (const std::exception& e) {
        log::error("dynamodb: stream listener threw: {}", e.what());
      }
    }
  }
}

void Engine::trim_streams() {
  const int64_t now = clock_->now_ms();
  const int64_t cutoff = now - kRetentionMs;
  std::vector<std::shared_ptr<StreamState>> all;
  {
    std::shared_lock lock(streams_mutex_);
    for (const auto& [id, s] : streams_) {
      all.push_back(s);
    }
  }
  for (const auto& s : all) {
    storage::WriteBatch batch;
    std::lock_guard lock(s->mu);
    auto it = store_->iterate(family_, s->records_prefix, key::prefix_end(s->records_prefix));
    uint64_t trimmed = s->trimmed_through;
    bool remaining = false;
    for (it->seek_to_first(); it->valid(); it->next()) {
      std::string_view v = it->value();
      int64_t ms = 0;
      if (key::read_i64(v, &ms) && ms >= cutoff) {
        remaining = true;
        break;
      }
      std::string_view k = it->key();
      k.remove_prefix(s->records_prefix.size());
      uint64_t seq = 0;
      if (key::read_u64(k, &seq)) {
        trimmed = std::max(trimmed, seq);
      }
      batch.del(family_, it->key());
    }
    const bool expired = !s->enabled && s->disabled_ms < cutoff && !remaining;
    if (expired) {
      batch.del(family_, stream_meta_key(s->id));
    } else if (trimmed != s->trimmed_through) {
      s->trimmed_through = trimmed;
      persist_stream(*s, &batch).ignore();
    }
    if (batch.empty()) {
      continue;
    }
    if (Status st = store_->write(batch); !st.is_ok()) {
      log::error("dynamodb: trimming stream {} failed: {}", s->arn, st.to_string());
      continue;
    }
    if (expired) {
      std::unique_lock w(streams_mutex_);
      stream_ids_.erase(s->arn);
      streams_.erase(s->id);
    }
  }
  // Idempotency records of TransactWriteItems outlive their 10-minute window no longer.
  const std::string prefix = catalog_prefix("token");
  auto it = store_->iterate(family_, prefix, key::prefix_end(prefix));
  storage::WriteBatch batch;
  for (it->seek_to_first(); it->valid(); it->next()) {
    std::string_view v = it->value();
    int64_t ms = 0;
    if (!key::read_i64(v, &ms) || ms < now - kTokenWindowMs) {
      batch.del(family_, it->key());
    }
  }
  if (!batch.empty()) {
    store_->write(batch).ignore();
  }
}

size_t Engine::sweep_ttl() {
  const int64_t now_ms = clock_->now_ms();
  if (now_ms < 0) {
    return 0;
  }
  const auto now = static_cast<uint64_t>(now_ms / 1000);
  size_t deleted = 0;
  for (const auto& table : all_tables()) {
    std::shared_ptr<const TableDef> def = table->def();
    if (!def->ttl_enabled) {
      continue;
    }
    std::string lower = table->ttl_prefix_;
    key::append_u64(lower, now > kTtlHorizonSeconds ? now - kTtlHorizonSeconds : 0);
    std::string upper = table->ttl_prefix_;
    key::append_u64(upper, now);
    std::vector<std::pair<std::string, uint64_t>> expired;  // item suffix, expiry
    {
      auto it = store_->iterate(family_, lower, upper);
      for (it->seek_to_first(); it->valid() && expired.size() < kChunk; it->next()) {
        std::string_view k = it->key();
        k.remove_prefix(table->ttl_prefix_.size());
        uint64_t expiry = 0;
        if (key::read_u64(k, &expiry)) {
          expired.emplace_back(std::string(k), expiry);
        }
      }
    }
    for (const auto& entry : expired) {
      // Named copies rather than a structured binding: clang 14 (the fuzz build) cannot capture
      // structured bindings in the lambda below.
      const std::string& suffix = entry.first;
      const uint64_t expiry = entry.second;
      std::vector<Mutation> ms(1);
      ms[0].table = table;
      ms[0].suffix = suffix;
      std::string stale;
      auto out = write(ms, [&](size_t, Mutation& m) {
        if (!m.def->ttl_enabled) {
          return true;
        }
        const auto current = m.old_exists ? ttl_seconds(m.old_item(), m.def->ttl_attribute) : std::nullopt;
        if (!current || *current != expiry) {
          stale = table->ttl_prefix_;
          key::append_u64(stale, expiry);
          stale += suffix;
          return true;
        }
        m.action = Mutation::Action::kDelete;
        m.by_ttl = true;
        const Json& item = m.old_item();
        m.key_item = Json::object();
        for (const KeyAttr* k : {&m.def->key.hash, m.def->key.range ? &*m.def->key.range : nullptr}) {
          if (k != nullptr && item.contains(k->name)) {
            m.key_item[k->name] = item[k->name];
          }
        }
        return true;
      });
      if (!stale.empty()) {
        store_->del(family_, stale).ignore();
      } else if (out.ok() && ms[0].action == Mutation::Action::kDelete) {
        ++deleted;
      }
    }
  }
  return deleted;
}

}  // namespace sless::services::dynamodb
