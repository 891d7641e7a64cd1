// Query and Scan: a key condition becomes one byte range of the item (or index entry) keys,
// read in sort-key order, forwards or backwards; Scan reads whole bucket ranges (a parallel scan
// segment is a contiguous range of partition-key hash buckets). Both stop at Limit scanned items
// or 1 MB, apply the filter and projection, and answer raw JSON.
#include <algorithm>

#include "services/dynamodb/common.h"
#include "services/dynamodb/ops.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::dynamodb::ops {

namespace {

namespace key = storage::key;
using expr::CompareOp;
using expr::CondKind;
using expr::Condition;
using expr::OperandKind;

constexpr size_t kPageBytes = 1024 * 1024;

enum class SortOp { kNone, kEq, kLt, kLe, kGt, kGe, kBetween, kBeginsWith };

struct KeyCondition {
  const Json* hash = nullptr;  // the partition key value
  SortOp op = SortOp::kNone;
  const Json* v1 = nullptr;
  const Json* v2 = nullptr;
};

void flatten_and(const Condition& c, std::vector<const Condition*>& out) {
  if (c.kind == CondKind::kAnd) {
    flatten_and(c.children[0], out);
    flatten_and(c.children[1], out);
  } else {
    out.push_back(&c);
  }
}

std::optional<ServiceError> analyze_key_condition(const Condition& cond, const KeySchema& schema, bool legacy,
                                                  KeyCondition& out) {
  std::vector<const Condition*> parts;
  flatten_and(cond, parts);
  struct Part {
    std::string attr;
    SortOp op;
    std::vector<const Json*> values;
  };
  std::vector<Part> found;
  for (const Condition* c : parts) {
    std::string bad;
    switch (c->kind) {
      case CondKind::kOr: bad = "OR"; break;
      case CondKind::kNot: bad = "NOT"; break;
      case CondKind::kIn: bad = "IN"; break;
      case CondKind::kExists: bad = "attribute_exists"; break;
      case CondKind::kNotExists: bad = "attribute_not_exists"; break;
      case CondKind::kType: bad = "attribute_type"; break;
      case CondKind::kContains: bad = "contains"; break;
      case CondKind::kCompare:
        if (c->op == CompareOp::kNe) {
          bad = "<>";
        }
        break;
      default: break;
    }
    if (!bad.empty() || c->kind == CondKind::kTrue) {
      if (legacy) {
        return validation_error("Attempted conditional constraint is not an indexable operation");
      }
      return validation_error("Invalid operator used in KeyConditionExpression: " + bad);
    }
    for (const expr::Operand& o : c->operands) {
      if (o.kind != OperandKind::kPath && o.kind != OperandKind::kValue) {
        return validation_error("KeyConditionExpressions cannot contain nested operations");
      }
    }
    if (c->kind == CondKind::kBetween && c->operands[0].kind != OperandKind::kPath) {
      return validation_error("Invalid condition in KeyConditionExpression: BETWEEN operator must have the key "
                              "attribute as its first operand");
    }
    if (c->kind == CondKind::kBeginsWith && c->operands[0].kind != OperandKind::kPath) {
      return validation_error("Invalid condition in KeyConditionExpression: begins_with operator must have the key "
                              "attribute as its first operand");
    }
    Part part;
    size_t path_at = 0;
    int paths = 0;
    for (size_t i = 0; i < c->operands.size(); ++i) {
      if (c->operands[i].kind == OperandKind::kPath) {
        if (++paths > 1) {
          return validation_error("Invalid condition in KeyConditionExpression: Multiple attribute names used in one "
                                  "condition");
        }
        if (c->operands[i].path.size() > 1) {
          return validation_error("KeyConditionExpressions cannot have conditions on nested attributes");
        }
        part.attr = c->operands[i].path[0].name;
        path_at = i;
      } else {
        part.values.push_back(c->operands[i].value);
      }
    }
    if (paths == 0) {
      return validation_error("Invalid condition in KeyConditionExpression: No key attribute specified");
    }
    for (const Part& p : found) {
      if (p.attr == part.attr) {
        return validation_error("KeyConditionExpressions must only contain one condition per key");
      }
    }
    if (c->kind == CondKind::kBetween) {
      part.op = SortOp::kBetween;
    } else if (c->kind == CondKind::kBeginsWith) {
      part.op = SortOp::kBeginsWith;
    } else {
      CompareOp op = c->op;
      if (path_at == 1) {  // ":v < attr" is "attr > :v"
        op = op == CompareOp::kLt ? CompareOp::kGt : op == CompareOp::kLe ? CompareOp::kGe
             : op == CompareOp::kGt ? CompareOp::kLt : op == CompareOp::kGe ? CompareOp::kLe : op;
      }
      part.op = op == CompareOp::kEq ? SortOp::kEq : op == CompareOp::kLt ? SortOp::kLt
                : op == CompareOp::kLe ? SortOp::kLe : op == CompareOp::kGt ? SortOp::kGt : SortOp::kGe;
    }
    found.push_back(std::move(part));
  }
  if (!schema.range && found.size() > 1) {
    return validation_error("Query key condition not supported");
  }
  const Part* hash = nullptr;
  const Part* range = nullptr;
  for (const Part& p : found) {
    if (p.attr == schema.hash.name) {
      hash = &p;
    } else if (schema.range && p.attr == schema.range->name) {
      range = &p;
    }
  }
  if (hash == nullptr) {
    return validation_error("Query condition missed key schema element: " + schema.hash.name);
  }
  if (found.size() > 1 && range == nullptr) {
    return validation_error("Query condition missed key schema element: " + schema.range->name);
  }
  auto types_match = [](const Part& p, Type t) {
    return std::all_of(p.values.begin(), p.values.end(), [&](const Json* v) { return type_of(*v) == t; });
  };
  if (!types_match(*hash, schema.hash.type) || (range != nullptr && !types_match(*range, schema.range->type))) {
    return validation_error(kInvalid + "Condition parameter type does not match schema type");
  }
  if (hash->op != SortOp::kEq) {
    return validation_error("Query key condition not supported");
  }
  out.hash = hash->values[0];
  if (range != nullptr) {
    out.op = range->op;
    out.v1 = range->values.empty() ? nullptr : range->values[0];
    out.v2 = range->values.size() > 1 ? range->values[1] : nullptr;
  }
  return std::nullopt;
}

// The partition key, as a key prefix: the table's (or index's) prefix, the bucket and the value.
std::string partition_prefix(const std::string& prefix, Type type, const Json& value) {
  std::string pk;
  append_key(pk, type, payload(value));
  std::string out = prefix;
  const uint32_t bucket = Engine::bucket_of(pk);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((bucket >> shift) & 0xFF));
  }
  return out + pk;
}

// [lower, upper) of the entries a key condition selects.
void key_range(const std::string& partition, const KeyCondition& kc, Type sort_type, std::string& lower,
               std::string& upper) {
  auto with = [&](const Json* v) {
    std::string k = partition;
    append_key(k, sort_type, payload(*v));
    return k;
  };
  lower = partition;
  upper = key::prefix_end(partition);
  switch (kc.op) {
    case SortOp::kNone: break;
    case SortOp::kEq: lower = with(kc.v1); upper = key::prefix_end(lower); break;
    case SortOp::kLt: upper = with(kc.v1); break;
    case SortOp::kLe: upper = key::prefix_end(with(kc.v1)); break;
    case SortOp::kGt: lower = key::prefix_end(with(kc.v1)); break;
    case SortOp::kGe: lower = with(kc.v1); break;
    case SortOp::kBetween:
      lower = with(kc.v1);
      upper = key::prefix_end(with(kc.v2));
      break;
    case SortOp::kBeginsWith: {
      // The encoding of a string starts with the escaped bytes of each of its prefixes; drop
      // the terminator to get the prefix's.
      std::string k = with(kc.v1);
      k.resize(k.size() - 2);
      lower = k;
      upper = key::prefix_end(k);
      break;
    }
  }
}

// What a Query or Scan reads and returns.
struct Read {
  std::shared_ptr<Table> table;
  std::shared_ptr<const TableDef> def;
  const IndexDef* index = nullptr;
  std::string select;
  bool fetch_from_table = false;  // an LSI read that needs attributes it does not project
  bool consistent = false;
  size_t limit = SIZE_MAX;
  bool forward = true;
  std::string lower;
  std::string upper;
};

// Common checks of IndexName, ConsistentRead, Select and the projection.
std::optional<ServiceError> resolve_read(Engine& e, const RequestContext& ctx, Json& p, Expressions& exprs, Read& r,
                                         bool query) {
  r.table = e.find(ctx.account, ctx.region, table_name_param(p));
  if (!r.table) {
    return table_not_found();
  }
  r.def = r.table->def();
  r.consistent = p.value("ConsistentRead", false);
  if (p.contains("IndexName")) {
    const std::string name = p["IndexName"].get<std::string>();
    r.index = r.def->find_index(name);
    if (r.index == nullptr) {
      return validation_error("The table does not have the specified index: " + name);
    }
    if (r.index->global && r.consistent) {
      return validation_error("Consistent reads are not supported on global secondary indexes");
    }
    if (r.index->creating) {
      return validation_error("Cannot read from backfilling global secondary index: " + name);
    }
  }
  if (p.contains("Limit")) {
    r.limit = p["Limit"].get<size_t>();
  }
  const bool projected = exprs.projection.has_value();
  r.select = p.value("Select", projected ? "SPECIFIC_ATTRIBUTES" : r.index ? "ALL_PROJECTED_ATTRIBUTES" : "ALL_ATTRIBUTES");
  const char* projection_member = p.contains("AttributesToGet") ? "AttributesToGet" : "ProjectionExpression";
  if (projected && r.select != "SPECIFIC_ATTRIBUTES") {
    return validation_error(std::string("Cannot specify the ") + projection_member + " when choosing to get " +
                            r.select);
  }
  if (!projected && r.select == "SPECIFIC_ATTRIBUTES") {
    return validation_error(kInvalid +
                            "Select type SPECIFIC_ATTRIBUTES requires AttributesToGet or ProjectionExpression");
  }
  if (r.select == "ALL_PROJECTED_ATTRIBUTES" && r.index == nullptr) {
    return validation_error(kInvalid + "Select type ALL_PROJECTED_ATTRIBUTES is supported only when " +
                            (query ? "Querying" : "Scanning") + " using an IndexName");
  }
  if (r.index != nullptr && r.index->projection != ProjectionType::kAll &&
      (r.select == "ALL_ATTRIBUTES" || (projected && !r.index->global))) {
    if (r.index->global) {
      return validation_error(kInvalid + "Select type ALL_ATTRIBUTES is not supported for global secondary "
                              "index " + r.index->name + " because its projection type is not ALL");
    }
    r.fetch_from_table = true;
  }
  return std::nullopt;
}

// The encoded key an ExclusiveStartKey designates, after checking it names every key attribute.
Outcome<std::string> start_key(const Read& r, Json& esk) {
  size_t want = r.def->key.range ? 2 : 1;
  if (r.index != nullptr) {
    for (const KeyAttr* k : {&r.index->key.hash, r.index->key.range ? &*r.index->key.range : nullptr}) {
      if (k != nullptr && k->name != r.def->key.hash.name && (!r.def->key.range || k->name != r.def->key.range->name)) {
        ++want;
      }
    }
  }
  if (!esk.is_object() || esk.size() != want) {
    return validation_error("The provided starting key is invalid");
  }
  for (auto it = esk.begin(); it != esk.end(); ++it) {
    if (auto e = normalize_value(it.value())) {
      return validation_error("The provided starting key is invalid: " + *e);
    }
  }
  Json table_key = key_of(r.def->key, esk);
  if (auto e = check_key(r.def->key, table_key)) {
    return validation_error("The provided starting key is invalid: " + e->message);
  }
  if (r.index == nullptr) {
    return r.table->item_prefix() + Engine::item_suffix(r.def->key, esk);
  }
  auto entry = Engine::index_entry_key(*r.table, *r.def, *r.index, esk);
  if (!entry) {
    return validation_error("The provided starting key is invalid");
  }
  return std::move(*entry);
}

// Reads [r.lower, r.upper) and renders the page.
Output run_read(Engine& e, Json& p, Read& r, Expressions& exprs) {
  std::string out = "{";
  const bool count_only = r.select == "COUNT";
  if (!count_only) {
    out += "\"Items\":[";
  }
  size_t count = 0;
  size_t scanned = 0;
  size_t bytes = 0;
  Json last_key;
  bool more = false;
  const bool need_item = exprs.filter || exprs.projection || r.fetch_from_table;
  auto it = e.iterate(r.lower, r.upper);
  if (r.forward) {
    it->seek_to_first();
  } else {
    it->seek_to_last();
  }
  for (; it->valid(); r.forward ? it->next() : it->prev()) {
    auto stored = split_stored(it->value());
    if (!stored) {
      continue;
    }
    ++scanned;
    bytes += stored->size;
    Json item;
    std::string_view json = stored->json;
    std::string fetched;
    if (need_item) {
      item = Json::parse(json, nullptr, false);
      if (!item.is_object()) {
        continue;
      }
      if (r.fetch_from_table) {
        auto full = e.get(*r.table, Engine::item_suffix(r.def->key, item));
        auto full_stored = full ? split_stored(*full) : std::nullopt;
        if (full_stored) {
          fetched = std::string(full_stored->json);
          json = fetched;
          item = Json::parse(json, nullptr, false);
        }
      }
    }
    const bool stop = scanned >= r.limit || bytes >= kPageBytes;
    if (stop) {
      Json parsed = need_item ? item : Json::parse(json, nullptr, false);
      last_key = start_key_of(*r.def, r.index, parsed.is_object() ? parsed : Json::object());
    }
    if (!exprs.filter || expr::evaluate(*exprs.filter, item)) {
      if (!count_only) {
        if (count > 0) {
          out += ',';
        }
        if (exprs.projection) {
          dump_to(out, expr::project(item, *exprs.projection));
        } else {
          out += json;
        }
      }
      ++count;
    }
    if (stop) {
      if (scanned >= r.limit) {
        more = true;
      } else {
        r.forward ? it->next() : it->prev();
        more = it->valid();
      }
      break;
    }
  }
  if (Status st = it->status(); !st.is_ok()) {
    return ServiceError::internal("read failed: " + st.to_string());
  }
  if (!count_only) {
    out += "],";
  }
  out += "\"Count\":" + std::to_string(count) + ",\"ScannedCount\":" + std::to_string(scanned);
  if (more && !last_key.empty()) {
    out += ",\"LastEvaluatedKey\":";
    dump_to(out, last_key);
  }
  append_capacity(out, p, r.def->name, read_units(bytes, r.consistent), false);
  out += '}';
  return raw_output(std::move(out));
}

}  // namespace

Output query(Engine& e, const RequestContext& ctx, Json& p) {
  if (!p.contains("KeyConditions") && !p.contains("KeyConditionExpression")) {
    return validation_error("Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
                            "request.");
  }
  Expressions exprs(p);
  if (auto err = parse_expressions(p, kKeyCondition | kFilter | kProjection, exprs, "QueryFilter")) {
    return std::move(*err);
  }
  Read r;
  if (auto err = resolve_read(e, ctx, p, exprs, r, true)) {
    return std::move(*err);
  }
  const KeySchema& schema = r.index ? r.index->key : r.def->key;
  KeyCondition kc;
  if (auto err = analyze_key_condition(*exprs.key_condition, schema, !p.contains("KeyConditionExpression"), kc)) {
    return std::move(*err);
  }
  for (const KeyAttr* k : {&schema.hash, schema.range ? &*schema.range : nullptr}) {
    if (k != nullptr && exprs.filter_heads.count(k->name) != 0) {
      return validation_error(std::string(p.contains("QueryFilter") ? "QueryFilter" : "Filter Expression") +
                              " can only contain non-primary key attributes: Primary key attribute: " + k->name);
    }
  }
  r.forward = p.value("ScanIndexForward", true);
  const std::string prefix = r.index ? r.table->index_prefix(r.index->id) : r.table->item_prefix();
  const std::string partition = partition_prefix(prefix, schema.hash.type, *kc.hash);
  key_range(partition, kc, schema.range ? schema.range->type : Type::kS, r.lower, r.upper);
  if (p.contains("ExclusiveStartKey")) {
    Json& esk = p["ExclusiveStartKey"];
    auto start = start_key(r, esk);
    if (!start.ok()) {
      return std::move(start).error();
    }
    const std::string& k = start.value();
    if (k.compare(0, partition.size(), partition) != 0) {
      return validation_error("The provided starting key is outside query boundaries based on provided conditions");
    }
    if (r.forward) {
      r.lower = std::max(r.lower, k + '\0');
    } else {
      r.upper = std::min(r.upper, k);
    }
    if (r.lower >= r.upper) {
      r.upper = r.lower;
    }
  }
  return run_read(e, p, r, exprs);
}

Output scan(Engine& e, const RequestContext& ctx, Json& p) {
  const bool has_segment = p.contains("Segment");
  const bool has_total = p.contains("TotalSegments");
  if (has_total && !has_segment) {
    return validation_error("The Segment parameter is required but was not present in the request when parameter "
                            "TotalSegments is present");
  }
  if (has_segment && !has_total) {
    return validation_error("The TotalSegments parameter is required but was not present in the request when Segment "
                            "parameter is present");
  }
  uint64_t segment = 0;
  uint64_t total = 1;
  if (has_segment) {
    segment = p["Segment"].get<uint64_t>();
    total = p["TotalSegments"].get<uint64_t>();
    if (segment >= total) {
      return validation_error("The Segment parameter is zero-based and must be less than parameter TotalSegments: "
                              "Segment: " + std::to_string(segment) + " is not less than TotalSegments: " +
                              std::to_string(total));
    }
  }
  Expressions exprs(p);
  if (auto err = parse_expressions(p, kFilter | kProjection, exprs, "ScanFilter")) {
    return std::move(*err);
  }
  Read r;
  if (auto err = resolve_read(e, ctx, p, exprs, r, false)) {
    return std::move(*err);
  }
  const std::string prefix = r.index ? r.table->index_prefix(r.index->id) : r.table->item_prefix();
  // Segment s of n covers the buckets [s * 2^32 / n, (s + 1) * 2^32 / n).
  auto bucket_key = [&](uint64_t bucket) {
    std::string k = prefix;
    for (int shift = 24; shift >= 0; shift -= 8) {
      k.push_back(static_cast<char>((bucket >> shift) & 0xFF));
    }
    return k;
  };
  const uint64_t lo = (segment << 32) / total;
  const uint64_t hi = ((segment + 1) << 32) / total;
  r.lower = bucket_key(lo);
  r.upper = hi >= (uint64_t{1} << 32) ? key::prefix_end(prefix) : bucket_key(hi);
  if (p.contains("ExclusiveStartKey")) {
    auto start = start_key(r, p["ExclusiveStartKey"]);
    if (!start.ok()) {
      return std::move(start).error();
    }
    const std::string& k = start.value();
    if (k < r.lower || k >= r.upper) {
      return validation_error("The provided starting key is invalid: Invalid ExclusiveStartKey. Please use "
                              "ExclusiveStartKey with correct Segment. TotalSegments: " + std::to_string(total) +
                              " Segment: " + std::to_string(segment));
    }
    r.lower = k + '\0';
  }
  return run_read(e, p, r, exprs);
}

}  // namespace sless::services::dynamodb::ops
