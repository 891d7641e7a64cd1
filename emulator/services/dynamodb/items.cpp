// Item operations: PutItem, GetItem, UpdateItem, DeleteItem, the batch operations and the
// transactions. A write is prepared outside any lock (validation, expressions, the new item's
// JSON), then decided under the item's lock by Engine::write, which commits it atomically with
// its index entries, stream record and counts.
#include <algorithm>
#include <set>

#include "core/crypto.h"
#include "core/encoding.h"
#include "services/dynamodb/common.h"
#include "services/dynamodb/ops.h"
#include "storage/keys.h"

namespace sless::services::dynamodb::ops {

namespace {

constexpr size_t kMaxBatchGetKeys = 100;
constexpr size_t kMaxBatchWrites = 25;
constexpr size_t kMaxBatchGetBytes = 16 * 1024 * 1024;

// One prepared single-item write (or a transaction's condition check).
struct Write {
  enum class Kind { kPut, kUpdate, kDelete, kCheck };

  Kind kind = Kind::kPut;
  std::shared_ptr<Table> table;
  std::shared_ptr<const TableDef> def;
  Expressions exprs;
  Json item;  // kPut
  size_t item_size = 0;
  std::string item_json;
  Json key;
  std::string suffix;
  std::string return_values = "NONE";
  bool old_on_failure = false;

  // Filled while deciding.
  bool condition_failed = false;
  std::optional<ServiceError> error;
  bool old_exists = false;
  std::string old_json;  // kept when the response or the failure needs it

  explicit Write(const Json& params) : exprs(params) {}
};

const std::string& str(const Json& p, const char* name, const std::string& fallback) {
  auto it = p.find(name);
  return it != p.end() && it->is_string() ? it->get_ref<const std::string&>() : fallback;
}

Outcome<std::shared_ptr<Table>> table_of(Engine& e, const RequestContext& ctx, const Json& p) {
  const std::string name = table_name_param(p);
  auto table = e.find(ctx.account, ctx.region, name);
  if (!table) {
    return table_not_found();
  }
  return table;
}

std::optional<ServiceError> prepare_key(Write& w, Json& p) {
  Json& key = p["Key"];
  if (auto e = check_key(w.def->key, key)) {
    return e;
  }
  w.key = key;
  w.suffix = Engine::item_suffix(w.def->key, key);
  return std::nullopt;
}

Outcome<Write> prepare(Engine& e, const RequestContext& ctx, Write::Kind kind, Json& p) {
  auto table = table_of(e, ctx, p);
  if (!table.ok()) {
    return std::move(table).error();
  }
  Write w(p);
  w.kind = kind;
  w.table = std::move(table).value();
  w.def = w.table->def();
  static const std::string kNone = "NONE";
  w.return_values = str(p, "ReturnValues", kNone);
  w.old_on_failure = str(p, "ReturnValuesOnConditionCheckFailure", kNone) == "ALL_OLD";
  if ((kind == Write::Kind::kPut || kind == Write::Kind::kDelete) && w.return_values != "NONE" &&
      w.return_values != "ALL_OLD") {
    return validation_error("ReturnValues can only be ALL_OLD or NONE");
  }
  const unsigned kinds = kind == Write::Kind::kUpdate ? (kUpdate | kCondition) : kCondition;
  if (auto err = parse_expressions(p, kinds, w.exprs)) {
    return std::move(*err);
  }
  if (kind == Write::Kind::kPut) {
    w.item = std::move(p["Item"]);
    if (auto err = check_item(*w.def, w.item, &w.item_size)) {
      return std::move(*err);
    }
    w.key = key_of(w.def->key, w.item);
    w.suffix = Engine::item_suffix(w.def->key, w.item);
    w.item_json = dump(w.item);
    return w;
  }
  if (auto err = prepare_key(w, p)) {
    return std::move(*err);
  }
  if (kind == Write::Kind::kUpdate && w.exprs.update) {
    for (const std::string& head : expr::path_heads(*w.exprs.update)) {
      if (head == w.def->key.hash.name || (w.def->key.range && head == w.def->key.range->name)) {
        return validation_error(kInvalid + "Cannot update attribute " + head +
                                ". This attribute is part of the key");
      }
    }
  }
  return w;
}

bool needs_old_json(const Write& w) {
  return w.return_values == "ALL_OLD" || w.return_values == "UPDATED_OLD";
}

// Decides one write against the current item, under its lock.
bool decide(Write& w, Mutation& m) {
  w.old_exists = m.old_exists;
  if (w.exprs.condition && !expr::evaluate(*w.exprs.condition, m.old_item())) {
    w.condition_failed = true;
    if (w.old_on_failure && m.old_exists) {
      w.old_json = std::string(m.old_json());
    }
    return false;
  }
  if (m.old_exists && needs_old_json(w)) {
    w.old_json = std::string(m.old_json());
  }
  switch (w.kind) {
    case Write::Kind::kCheck: return true;
    case Write::Kind::kDelete: m.action = Mutation::Action::kDelete; return true;
    case Write::Kind::kPut:
      m.action = Mutation::Action::kPut;
      m.new_item = std::move(w.item);
      m.new_size = w.item_size;
      m.new_json = std::move(w.item_json);
      return true;
    case Write::Kind::kUpdate: {
      Json item = m.old_exists ? m.old_item() : w.key;
      if (w.exprs.update) {
        if (auto e = expr::apply_update(*w.exprs.update, item)) {
          w.error = validation_error(std::move(*e));
          return false;
        }
      }
      if (auto e = check_index_keys(*w.def, item)) {
        w.error = std::move(*e);
        return false;
      }
      const size_t size = item_size(item);
      if (size > kMaxItemBytes) {
        w.error = validation_error("Item size to update has exceeded the maximum allowed size");
        return false;
      }
      m.action = Mutation::Action::kPut;
      m.new_item = std::move(item);
      m.new_size = size;
      return true;
    }
  }
  return false;
}

Mutation mutation_of(const Write& w) {
  Mutation m;
  m.table = w.table;
  m.suffix = w.suffix;
  m.key_item = w.key;
  // A put or delete with no condition and no ReturnValues need not read the item it replaces.
  m.needs_old = w.kind == Write::Kind::kUpdate || w.kind == Write::Kind::kCheck || w.exprs.condition.has_value() ||
                w.return_values != "NONE";
  return m;
}

bool has_lsi(const TableDef& def) {
  return std::any_of(def.indexes.begin(), def.indexes.end(), [](const IndexDef& i) { return !i.global; });
}

void append_collection_metrics(std::string& out, const Json& p, const TableDef& def, const Json& key) {
  if (str(p, "ReturnItemCollectionMetrics", "NONE") != "SIZE" || !has_lsi(def)) {
    return;
  }
  out += out.size() > 1 ? "," : "";
  out += "\"ItemCollectionMetrics\":";
  dump_to(out, Json{{"ItemCollectionKey", Json{{def.key.hash.name, key[def.key.hash.name]}}},
                    {"SizeEstimateRangeGB", Json::array({0.0, 1.0})}});
}

// The paths an update touched; removed ones have no new value to return.
std::vector<expr::Path> update_paths(const expr::Update& u, bool new_values) {
  std::vector<expr::Path> paths;
  for (const expr::UpdateAction& a : u.actions) {
    if (!(new_values && a.kind == expr::ActionKind::kRemove)) {
      paths.push_back(a.path);
    }
  }
  return paths;
}

// Runs one prepared write and renders its response.
Output run_single(Engine& e, Json& p, Write& w) {
  std::vector<Mutation> ms;
  ms.push_back(mutation_of(w));
  auto result = e.write(ms, [&](size_t, Mutation& m) { return decide(w, m); });
  if (!result.ok()) {
    return std::move(result).error();
  }
  if (result.value() == Engine::WriteResult::kRejected) {
    if (w.error) {
      return std::move(*w.error);
    }
    return conditional_check_failed(w.old_json);
  }
  const Mutation& m = ms[0];
  std::string out = "{";
  const std::string& rv = w.return_values;
  if (rv == "ALL_OLD" && w.old_exists) {
    out += "\"Attributes\":";
    out += w.old_json;
  } else if (rv == "ALL_NEW" && m.action == Mutation::Action::kPut) {
    out += "\"Attributes\":";
    out += m.new_json;
  } else if ((rv == "UPDATED_OLD" || rv == "UPDATED_NEW") && w.exprs.update) {
    const std::vector<expr::Path> paths = update_paths(*w.exprs.update, rv == "UPDATED_NEW");
    Json from = rv == "UPDATED_NEW" ? m.new_item : Json::parse(w.old_json.empty() ? "{}" : w.old_json, nullptr, false);
    Json attrs = from.is_object() ? expr::project(from, paths) : Json::object();
    if (!attrs.empty()) {
      out += "\"Attributes\":";
      dump_to(out, attrs);
    }
  }
  append_capacity(out, p, w.def->name, write_units(std::max(m.old_size, m.new_size)), true);
  append_collection_metrics(out, p, *w.def, w.key);
  out += '}';
  return raw_output(std::move(out));
}

}  // namespace

Output put_item(Engine& e, const RequestContext& ctx, Json& p) {
  auto w = prepare(e, ctx, Write::Kind::kPut, p);
  if (!w.ok()) {
    return std::move(w).error();
  }
  return run_single(e, p, w.value());
}

Output update_item(Engine& e, const RequestContext& ctx, Json& p) {
  auto w = prepare(e, ctx, Write::Kind::kUpdate, p);
  if (!w.ok()) {
    return std::move(w).error();
  }
  return run_single(e, p, w.value());
}

Output delete_item(Engine& e, const RequestContext& ctx, Json& p) {
  auto w = prepare(e, ctx, Write::Kind::kDelete, p);
  if (!w.ok()) {
    return std::move(w).error();
  }
  return run_single(e, p, w.value());
}

Output get_item(Engine& e, const RequestContext& ctx, Json& p) {
  auto table = table_of(e, ctx, p);
  if (!table.ok()) {
    return std::move(table).error();
  }
  std::shared_ptr<const TableDef> def = table.value()->def();
  Expressions exprs(p);
  if (auto err = parse_expressions(p, kProjection, exprs)) {
    return std::move(*err);
  }
  Json& key = p["Key"];
  if (auto err = check_key(def->key, key)) {
    return std::move(*err);
  }
  const std::optional<std::string> value = e.get(*table.value(), Engine::item_suffix(def->key, key));
  std::string out = "{";
  size_t size = 0;
  if (value) {
    if (auto stored = split_stored(*value)) {
      size = stored->size;
      if (exprs.projection) {
        Json item = Json::parse(stored->json, nullptr, false);
        out += "\"Item\":";
        dump_to(out, item.is_object() ? expr::project(item, *exprs.projection) : Json::object());
      } else {
        out += "\"Item\":";
        out += stored->json;
      }
    }
  }
  const bool consistent = p.value("ConsistentRead", false);
  append_capacity(out, p, def->name, read_units(size, consistent), false);
  out += '}';
  return raw_output(std::move(out));
}

// ---- batches ---------------------------------------------------------------------------------

Output batch_get_item(Engine& e, const RequestContext& ctx, Json& p) {
  Json& requests = p["RequestItems"];
  size_t total = 0;
  for (auto it = requests.begin(); it != requests.end(); ++it) {
    total += it.value().value("Keys", Json::array()).size();
  }
  if (total > kMaxBatchGetKeys) {
    return validation_error("Too many items requested for the BatchGetItem call");
  }
  struct Entry {
    std::string name;
    std::shared_ptr<Table> table;
    std::shared_ptr<const TableDef> def;
    std::unique_ptr<Expressions> exprs;
    Json* request = nullptr;
  };
  std::vector<Entry> entries;
  for (auto it = requests.begin(); it != requests.end(); ++it) {
    Entry en;
    en.name = it.key();
    Json probe{{"TableName", it.key()}};
    en.table = e.find(ctx.account, ctx.region, table_name_param(probe));
    if (!en.table) {
      return table_not_found();
    }
    en.def = en.table->def();
    en.request = &it.value();
    en.exprs = std::make_unique<Expressions>(*en.request);
    if (auto err = parse_expressions(*en.request, kProjection, *en.exprs)) {
      return std::move(*err);
    }
    std::set<std::string> seen;
    for (Json& key : (*en.request)["Keys"]) {
      if (auto err = check_key(en.def->key, key)) {
        return std::move(*err);
      }
      if (!seen.insert(Engine::item_suffix(en.def->key, key)).second) {
        return validation_error("Provided list of item keys contains duplicates");
      }
    }
    entries.push_back(std::move(en));
  }
  Json responses = Json::object();
  Json unprocessed = Json::object();
  Json capacity = Json::array();
  size_t bytes = 0;
  for (Entry& en : entries) {
    Json items = Json::array();
    Json left = Json::array();
    double units = 0;
    const bool consistent = en.request->value("ConsistentRead", false);
    for (Json& key : (*en.request)["Keys"]) {
      if (bytes >= kMaxBatchGetBytes) {
        left.push_back(key);
        continue;
      }
      auto value = e.get(*en.table, Engine::item_suffix(en.def->key, key));
      auto stored = value ? split_stored(*value) : std::nullopt;
      units += read_units(stored ? stored->size : 0, consistent);
      if (!stored) {
        continue;
      }
      bytes += stored->size;
      Json item = Json::parse(stored->json, nullptr, false);
      if (!item.is_object()) {
        continue;
      }
      items.push_back(en.exprs->projection ? expr::project(item, *en.exprs->projection) : std::move(item));
    }
    responses[en.name] = std::move(items);
    if (!left.empty()) {
      Json rest = *en.request;
      rest["Keys"] = std::move(left);
      unprocessed[en.name] = std::move(rest);
    }
    capacity.push_back(capacity_json(str(p, "ReturnConsumedCapacity", "TOTAL"), en.def->name, units, false));
  }
  Json out{{"Responses", std::move(responses)}, {"UnprocessedKeys", std::move(unprocessed)}};
  if (str(p, "ReturnConsumedCapacity", "NONE") != "NONE") {
    out["ConsumedCapacity"] = std::move(capacity);
  }
  return protocol::OperationOutput(std::move(out));
}

Output batch_write_item(Engine& e, const RequestContext& ctx, Json& p) {
  Json& requests = p["RequestItems"];
  size_t total = 0;
  for (auto it = requests.begin(); it != requests.end(); ++it) {
    total += it.value().size();
  }
  if (total > kMaxBatchWrites) {
    return validation_error("Too many items requested for the BatchWriteItem call");
  }
  std::vector<std::unique_ptr<Write>> writes;
  std::set<std::pair<Table*, std::string>> seen;
  for (auto it = requests.begin(); it != requests.end(); ++it) {
    Json probe{{"TableName", it.key()}};
    auto table = e.find(ctx.account, ctx.region, table_name_param(probe));
    if (!table) {
      return table_not_found();
    }
    for (Json& request : it.value()) {
      const bool put = request.contains("PutRequest");
      if (put == request.contains("DeleteRequest")) {
        return validation_error("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
                                "supported datatypes");
      }
      Json& inner = put ? request["PutRequest"] : request["DeleteRequest"];
      auto w = std::make_unique<Write>(inner);
      w->kind = put ? Write::Kind::kPut : Write::Kind::kDelete;
      w->table = table;
      w->def = table->def();
      if (put) {
        w->item = inner["Item"];
        if (auto err = check_item(*w->def, w->item, &w->item_size)) {
          return std::move(*err);
        }
        w->key = key_of(w->def->key, w->item);
        w->suffix = Engine::item_suffix(w->def->key, w->item);
        w->item_json = dump(w->item);
      } else if (auto err = prepare_key(*w, inner)) {
        return std::move(*err);
      }
      if (!seen.emplace(table.get(), w->suffix).second) {
        return validation_error("Provided list of item keys contains duplicates");
      }
      writes.push_back(std::move(w));
    }
  }
  std::vector<Mutation> ms;
  for (const auto& w : writes) {
    ms.push_back(mutation_of(*w));
  }
  auto result = e.write(ms, [&](size_t i, Mutation& m) { return decide(*writes[i], m); });
  if (!result.ok()) {
    return std::move(result).error();
  }
  Json out{{"UnprocessedItems", Json::object()}};
  if (str(p, "ReturnConsumedCapacity", "NONE") != "NONE") {
    std::map<std::string, double> units;
    for (size_t i = 0; i < ms.size(); ++i) {
      units[writes[i]->def->name] += write_units(std::max(ms[i].old_size, ms[i].new_size));
    }
    Json capacity = Json::array();
    for (const auto& [name, u] : units) {
      capacity.push_back(capacity_json(p["ReturnConsumedCapacity"].get<std::string>(), name, u, true));
    }
    out["ConsumedCapacity"] = std::move(capacity);
  }
  if (str(p, "ReturnItemCollectionMetrics", "NONE") == "SIZE") {
    Json metrics = Json::object();
    for (const auto& w : writes) {
      if (has_lsi(*w->def)) {
        metrics[w->def->name].push_back(
            Json{{"ItemCollectionKey", Json{{w->def->key.hash.name, w->key[w->def->key.hash.name]}}},
                 {"SizeEstimateRangeGB", Json::array({0.0, 1.0})}});
      }
    }
    out["ItemCollectionMetrics"] = std::move(metrics);
  }
  return protocol::OperationOutput(std::move(out));
}

// ---- transactions ----------------------------------------------------------------------------

Output transact_get_items(Engine& e, const RequestContext& ctx, Json& p) {
  struct Get {
    std::shared_ptr<Table> table;
    std::shared_ptr<const TableDef> def;
    std::unique_ptr<Expressions> exprs;
    std::string suffix;
    std::string value;
    bool exists = false;
  };
  std::vector<Get> gets;
  for (Json& item : p["TransactItems"]) {
    Json& g = item["Get"];
    auto table = table_of(e, ctx, g);
    if (!table.ok()) {
      return std::move(table).error();
    }
    Get get;
    get.table = std::move(table).value();
    get.def = get.table->def();
    get.exprs = std::make_unique<Expressions>(g);
    if (auto err = parse_expressions(g, kProjection, *get.exprs)) {
      return std::move(*err);
    }
    Json& key = g["Key"];
    if (auto err = check_key(get.def->key, key)) {
      return std::move(*err);
    }
    get.suffix = Engine::item_suffix(get.def->key, key);
    gets.push_back(std::move(get));
  }
  // The reads happen with every item locked: a snapshot no transaction can tear.
  std::vector<Mutation> ms;
  for (const Get& g : gets) {
    Mutation m;
    m.table = g.table;
    m.suffix = g.suffix;
    ms.push_back(std::move(m));
  }
  auto result = e.write(ms, [&](size_t i, Mutation& m) {
    gets[i].exists = m.old_exists;
    gets[i].value = std::string(m.old_json());
    return true;
  });
  if (!result.ok()) {
    return std::move(result).error();
  }
  std::string out = "{\"Responses\":[";
  std::map<std::string, double> units;
  for (size_t i = 0; i < gets.size(); ++i) {
    out += i > 0 ? "," : "";
    units[gets[i].def->name] += 2 * read_units(ms[i].old_size, true);
    if (!gets[i].exists) {
      out += "{}";
      continue;
    }
    out += "{\"Item\":";
    if (gets[i].exprs->projection) {
      Json item = Json::parse(gets[i].value, nullptr, false);
      dump_to(out, item.is_object() ? expr::project(item, *gets[i].exprs->projection) : Json::object());
    } else {
      out += gets[i].value;
    }
    out += '}';
  }
  out += ']';
  if (str(p, "ReturnConsumedCapacity", "NONE") != "NONE") {
    Json capacity = Json::array();
    for (const auto& [name, u] : units) {
      capacity.push_back(capacity_json(p["ReturnConsumedCapacity"].get<std::string>(), name, u, false));
    }
    out += ",\"ConsumedCapacity\":";
    dump_to(out, capacity);
  }
  out += '}';
  return raw_output(std::move(out));
}

Output transact_write_items(Engine& e, const RequestContext& ctx, Json& p) {
  // Idempotency: the same token and request within ten minutes answers as the first time.
  std::string token_key;
  std::string request_hash;
  if (p.contains("ClientRequestToken") && p["ClientRequestToken"].is_string()) {
    token_key = e.token_key(ctx.account, ctx.region, p["ClientRequestToken"].get<std::string>());
    request_hash = crypto::sha256(dump(p["TransactItems"]));
    if (auto record = e.get_raw(token_key)) {
      std::string_view v = *record;
      int64_t ms = 0;
      if (storage::key::read_i64(v, &ms) && ms >= ctx.now_ms - int64_t{10} * 60 * 1000 && v.size() >= 32) {
        if (v.substr(0, 32) != request_hash) {
          return ServiceError("IdempotentParameterMismatchException",
                              "The request uses the same client token as a previous, but non-identical request.");
        }
        return raw_output(std::string(v.substr(32)));
      }
    }
  }
  std::vector<std::unique_ptr<Write>> writes;
  std::set<std::pair<Table*, std::string>> seen;
  for (Json& item : p["TransactItems"]) {
    static constexpr std::pair<const char*, Write::Kind> kKinds[] = {{"ConditionCheck", Write::Kind::kCheck},
                                                                     {"Put", Write::Kind::kPut},
                                                                     {"Delete", Write::Kind::kDelete},
                                                                     {"Update", Write::Kind::kUpdate}};
    const char* member = nullptr;
    Write::Kind kind = Write::Kind::kCheck;
    int count = 0;
    for (const auto& [name, k] : kKinds) {
      if (item.contains(name)) {
        member = name;
        kind = k;
        ++count;
      }
    }
    if (count != 1) {
      return validation_error("TransactItems can only contain one of Check, Put, Update or Delete");
    }
    auto w = prepare(e, ctx, kind, item[member]);
    if (!w.ok()) {
      return std::move(w).error();
    }
    if (!seen.emplace(w.value().table.get(), w.value().suffix).second) {
      return validation_error("Transaction request cannot include multiple operations on one item");
    }
    writes.push_back(std::make_unique<Write>(std::move(w).value()));
  }
  std::vector<Mutation> ms;
  for (const auto& w : writes) {
    ms.push_back(mutation_of(*w));
  }
  // The response, and the idempotency record that carries it, are known only after deciding;
  // the record is written in the same batch.
  std::vector<std::pair<std::string, std::string>> extra;
  auto result = e.write(
      ms,
      [&](size_t i, Mutation& m) {
        const bool ok = decide(*writes[i], m);
        if (i + 1 == ms.size() && !token_key.empty()) {
          std::string record;
          storage::key::append_i64(record, ctx.now_ms);
          record += request_hash;
          record += "{}";
          extra.emplace_back(token_key, std::move(record));
        }
        return ok;
      },
      extra);
  if (!result.ok()) {
    return std::move(result).error();
  }
  if (result.value() == Engine::WriteResult::kRejected) {
    Json reasons = Json::array();
    std::string codes;
    for (const auto& w : writes) {
      Json r;
      if (w->condition_failed) {
        r = Json{{"Code", "ConditionalCheckFailed"}, {"Message", "The conditional request failed"}};
        if (!w->old_json.empty()) {
          Json item = Json::parse(w->old_json, nullptr, false);
          if (item.is_object()) {
            r["Item"] = std::move(item);
          }
        }
      } else if (w->error) {
        r = Json{{"Code", "ValidationError"}, {"Message", w->error->message}};
      } else {
        r = Json{{"Code", "None"}};
      }
      codes += (codes.empty() ? "" : ", ") + r["Code"].get<std::string>();
      reasons.push_back(std::move(r));
    }
    return ServiceError("TransactionCanceledException",
                        "Transaction cancelled, please refer cancellation reasons for specific reasons [" + codes + "]")
        .with("CancellationReasons", std::move(reasons));
  }
  std::string out = "{";
  if (str(p, "ReturnConsumedCapacity", "NONE") != "NONE") {
    std::map<std::string, double> units;
    for (size_t i = 0; i < ms.size(); ++i) {
      units[writes[i]->def->name] += 2 * write_units(std::max(ms[i].old_size, ms[i].new_size));
    }
    Json capacity = Json::array();
    for (const auto& [name, u] : units) {
      capacity.push_back(capacity_json(p["ReturnConsumedCapacity"].get<std::string>(), name, u, true));
    }
    out += "\"ConsumedCapacity\":";
    dump_to(out, capacity);
  }
  out += '}';
  return raw_output(std::move(out));
}

}  // namespace sless::services::dynamodb::ops
