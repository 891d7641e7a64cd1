#include "services/dynamodb/common.h"

#include <algorithm>
#include <cmath>

#include "core/encoding.h"

namespace sless::services::dynamodb {

namespace {

constexpr size_t kMaxHashKeyBytes = 2048;
constexpr size_t kMaxRangeKeyBytes = 1024;

bool placeholder_ok(std::string_view key, char lead) {
  if (key.size() < 2 || key[0] != lead) {
    return false;
  }
  for (char c : key.substr(1)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

size_t key_bytes(Type t, const Json& p) {
  if (t == Type::kB) {
    return decode_binary(p).size();
  }
  return p.is_string() ? p.get_ref<const std::string&>().size() : 0;
}

std::optional<ServiceError> check_key_value(const KeyAttr& k, const Json& av, bool hash) {
  const Json& p = payload(av);
  if ((k.type == Type::kS || k.type == Type::kB) && p.is_string() && p.get_ref<const std::string&>().empty()) {
    return validation_error("One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                            "contain an empty " + std::string(k.type == Type::kS ? "string" : "binary") +
                            " value. Key: " + k.name);
  }
  if (k.type != Type::kN) {
    const size_t bytes = key_bytes(k.type, p);
    if (hash && bytes > kMaxHashKeyBytes) {
      return validation_error(kInvalid + "Size of hashkey has exceeded the maximum size limit of2048 bytes");
    }
    if (!hash && bytes > kMaxRangeKeyBytes) {
      return validation_error(kInvalid +
                              "Aggregated size of all range keys has exceeded the size limit of 1024 bytes");
    }
  }
  return std::nullopt;
}

std::string join(const std::vector<const char*>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i > 0 ? ", " : "") + std::string(names[i]);
  }
  return out;
}

void collect_heads(const expr::Condition& c, std::set<std::string>& heads) {
  for (const expr::Operand& o : c.operands) {
    if (o.kind == expr::OperandKind::kPath && !o.path.empty()) {
      heads.insert(o.path[0].name);
    }
    for (const expr::Operand& a : o.args) {
      if (a.kind == expr::OperandKind::kPath && !a.path.empty()) {
        heads.insert(a.path[0].name);
      }
    }
  }
  for (const expr::Condition& child : c.children) {
    collect_heads(child, heads);
  }
}

}  // namespace

ServiceError validation_error(std::string message) { return ServiceError::validation(std::move(message)); }

ServiceError table_not_found() { return ServiceError("ResourceNotFoundException", "Requested resource not found"); }

ServiceError conditional_check_failed(std::string_view item_json) {
  ServiceError e("ConditionalCheckFailedException", "The conditional request failed");
  if (!item_json.empty()) {
    Json item = Json::parse(item_json, nullptr, false);
    if (item.is_object()) {
      e.fields["Item"] = std::move(item);
    }
  }
  return e;
}

std::optional<ServiceError> check_key(const KeySchema& schema, Json& key) {
  if (!key.is_object()) {
    return validation_error("The provided key element does not match the schema");
  }
  for (auto it = key.begin(); it != key.end(); ++it) {
    if (auto e = normalize_value(it.value())) {
      return validation_error(std::move(*e));
    }
  }
  const size_t want = schema.range ? 2 : 1;
  if (key.size() != want) {
    return validation_error("The provided key element does not match the schema");
  }
  for (const KeyAttr* k : {&schema.hash, schema.range ? &*schema.range : nullptr}) {
    if (k == nullptr) {
      continue;
    }
    auto it = key.find(k->name);
    if (it == key.end() || type_of(*it) != k->type) {
      return validation_error("The provided key element does not match the schema");
    }
    if (auto e = check_key_value(*k, *it, k == &schema.hash)) {
      return e;
    }
  }
  return std::nullopt;
}

std::optional<ServiceError> check_index_keys(const TableDef& def, const Json& item) {
  for (const IndexDef& index : def.indexes) {
    for (const KeyAttr* k : {&index.key.hash, index.key.range ? &*index.key.range : nullptr}) {
      if (k == nullptr) {
        continue;
      }
      auto it = item.find(k->name);
      if (it == item.end()) {
        continue;
      }
      const Type t = type_of(*it);
      if (t != k->type) {
        return validation_error(kInvalid + "Type mismatch for Index Key " + k->name + " Expected: " +
                                std::string(type_name(k->type)) + " Actual: " + std::string(type_name(t)) +
                                " IndexName: " + index.name);
      }
      const Json& p = payload(*it);
      if (k->type != Type::kN && p.is_string() && p.get_ref<const std::string&>().empty()) {
        return validation_error("One or more parameter values are not valid. A value specified for a secondary index "
                                "key is not supported. The AttributeValue for a key attribute cannot contain an empty " +
                                std::string(k->type == Type::kS ? "string" : "binary") + " value. IndexName: " +
                                index.name + ", IndexKey: " + k->name);
      }
    }
  }
  return std::nullopt;
}

std::optional<ServiceError> check_item(const TableDef& def, Json& item, size_t* size) {
  if (auto e = normalize_item(item, size)) {
    return validation_error(std::move(*e));
  }
  for (const KeyAttr* k : {&def.key.hash, def.key.range ? &*def.key.range : nullptr}) {
    if (k == nullptr) {
      continue;
    }
    auto it = item.find(k->name);
    if (it == item.end()) {
      return validation_error(kInvalid + "Missing the key " + k->name + " in the item");
    }
    const Type t = type_of(*it);
    if (t != k->type) {
      return validation_error(kInvalid + "Type mismatch for key " + k->name + " expected: " +
                              std::string(type_name(k->type)) + " actual: " + std::string(type_name(t)));
    }
    if (auto e = check_key_value(*k, *it, k == &def.key.hash)) {
      return e;
    }
  }
  if (auto e = check_index_keys(def, item)) {
    return e;
  }
  if (*size > kMaxItemBytes) {
    return validation_error("Item size has exceeded the maximum allowed size");
  }
  return std::nullopt;
}

Json key_of(const KeySchema& schema, const Json& item) {
  Json key = Json::object();
  for (const KeyAttr* k : {&schema.hash, schema.range ? &*schema.range : nullptr}) {
    if (k == nullptr) {
      continue;
    }
    auto it = item.find(k->name);
    if (it != item.end()) {
      key[k->name] = *it;
    }
  }
  return key;
}

Json start_key_of(const TableDef& def, const IndexDef* index, const Json& item) {
  Json key = key_of(def.key, item);
  if (index != nullptr) {
    const Json index_key = key_of(index->key, item);
    for (auto it = index_key.begin(); it != index_key.end(); ++it) {
      key[it.key()] = it.value();
    }
  }
  return key;
}

// ---- expressions ---------------------------------------------------------------------------

namespace {

const Json* member(const Json& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

Expressions::Expressions(const Json& params)
    : binder(member(params, "ExpressionAttributeNames"), member(params, "ExpressionAttributeValues")) {}

std::optional<ServiceError> parse_expressions(Json& params, unsigned kinds, Expressions& out, const char* filter_legacy) {
  // Which expression members this operation has, and their legacy counterparts.
  std::vector<const char*> expressions;
  std::vector<const char*> legacy;
  std::vector<const char*> value_expressions;
  if (kinds & kUpdate) {
    expressions.push_back("UpdateExpression");
    value_expressions.push_back("UpdateExpression");
    legacy.push_back("AttributeUpdates");
  }
  if (kinds & kProjection) {
    expressions.push_back("ProjectionExpression");
    legacy.push_back("AttributesToGet");
  }
  if (kinds & kFilter) {
    expressions.push_back("FilterExpression");
    value_expressions.push_back("FilterExpression");
    legacy.push_back(filter_legacy);
  }
  if (kinds & kKeyCondition) {
    expressions.push_back("KeyConditionExpression");
    value_expressions.push_back("KeyConditionExpression");
  }
  if (kinds & kCondition) {
    expressions.push_back("ConditionExpression");
    value_expressions.push_back("ConditionExpression");
    legacy.push_back("Expected");
  }
  if (kinds & (kCondition | kFilter)) {
    legacy.push_back("ConditionalOperator");
  }
  if ((kinds & kKeyCondition) && member(params, "KeyConditionExpression") != nullptr) {
    legacy.push_back("KeyConditions");
  }

  std::vector<const char*> used_expressions;
  std::vector<const char*> used_legacy;
  for (const char* e : expressions) {
    if (member(params, e) != nullptr) {
      used_expressions.push_back(e);
    }
  }
  for (const char* l : legacy) {
    if (l != nullptr && member(params, l) != nullptr) {
      used_legacy.push_back(l);
    }
  }
  if (!used_expressions.empty() && !used_legacy.empty()) {
    return validation_error("Can not use both expression and non-expression parameters in the same request: "
                             "Non-expression parameters: {" + join(used_legacy) + "} Expression parameters: {" +
                             join(used_expressions) + "}");
  }
  // DynamoDB caps every expression string at 4 KB, counted as sent.
  for (const char* e : used_expressions) {
    const Json& text = params[e];
    if (text.is_string() && text.get_ref<const std::string&>().size() > 4096) {
      return validation_error("Invalid " + std::string(e) + ": Expression size has exceeded the maximum allowed size; "
                              "expression size: " + std::to_string(text.get_ref<const std::string&>().size()));
    }
  }
  Json* names = params.contains("ExpressionAttributeNames") && !params["ExpressionAttributeNames"].is_null()
                    ? &params["ExpressionAttributeNames"]
                    : nullptr;
  Json* values = params.contains("ExpressionAttributeValues") && !params["ExpressionAttributeValues"].is_null()
                     ? &params["ExpressionAttributeValues"]
                     : nullptr;
  if (names != nullptr && used_expressions.empty()) {
    return validation_error("ExpressionAttributeNames can only be specified when using expressions");
  }
  if (values != nullptr && !value_expressions.empty() &&
      std::none_of(value_expressions.begin(), value_expressions.end(),
                   [&](const char* e) { return member(params, e) != nullptr; })) {
    std::string list;
    for (size_t i = 0; i < value_expressions.size(); ++i) {
      list += (i > 0 ? " and " : "") + std::string(value_expressions[i]);
    }
    return validation_error("ExpressionAttributeValues can only be specified when using expressions: " + list +
                            (value_expressions.size() > 1 ? " are null" : " is null"));
  }
  if (names != nullptr) {
    if (names->empty()) {
      return validation_error("ExpressionAttributeNames must not be empty");
    }
    for (auto it = names->begin(); it != names->end(); ++it) {
      if (!placeholder_ok(it.key(), '#')) {
        return validation_error("ExpressionAttributeNames contains invalid key: Syntax error; key: \"" + it.key() + "\"");
      }
    }
  }
  if (values != nullptr) {
    if (values->empty()) {
      return validation_error("ExpressionAttributeValues must not be empty");
    }
    for (auto it = values->begin(); it != values->end(); ++it) {
      if (!placeholder_ok(it.key(), ':')) {
        return validation_error("ExpressionAttributeValues contains invalid key: Syntax error; key: \"" + it.key() + "\"");
      }
    }
    for (auto it = values->begin(); it != values->end(); ++it) {
      if (auto e = normalize_value(it.value())) {
        return validation_error("ExpressionAttributeValues contains invalid value: " + *e + " for key " + it.key());
      }
    }
  }

  auto text = [&](const char* name) -> std::optional<std::string_view> {
    const Json* m = member(params, name);
    if (m == nullptr || !m->is_string()) {
      return std::nullopt;
    }
    return std::string_view(m->get_ref<const std::string&>());
  };
  auto condition = [&](const char* name, std::optional<expr::Condition>& slot) -> std::optional<ServiceError> {
    if (auto t = text(name)) {
      auto parsed = expr::parse_condition(*t, out.binder);
      if (auto* e = std::get_if<std::string>(&parsed)) {
        return validation_error("Invalid " + std::string(name) + ": " + *e);
      }
      slot = std::move(std::get<expr::Condition>(parsed));
    }
    return std::nullopt;
  };
  if (kinds & kUpdate) {
    if (auto t = text("UpdateExpression")) {
      auto parsed = expr::parse_update(*t, out.binder);
      if (auto* e = std::get_if<std::string>(&parsed)) {
        return validation_error("Invalid UpdateExpression: " + *e);
      }
      out.update = std::move(std::get<expr::Update>(parsed));
    }
  }
  if (kinds & kCondition) {
    if (auto e = condition("ConditionExpression", out.condition)) {
      return e;
    }
  }
  if (kinds & kKeyCondition) {
    if (auto e = condition("KeyConditionExpression", out.key_condition)) {
      return e;
    }
  }
  if (kinds & kFilter) {
    if (auto e = condition("FilterExpression", out.filter)) {
      return e;
    }
  }
  if (kinds & kProjection) {
    if (auto t = text("ProjectionExpression")) {
      auto parsed = expr::parse_projection(*t, out.binder);
      if (auto* e = std::get_if<std::string>(&parsed)) {
        return validation_error("Invalid ProjectionExpression: " + *e);
      }
      out.projection = std::move(std::get<std::vector<expr::Path>>(parsed));
    }
  }
  if (auto e = out.binder.unused()) {
    return validation_error(std::move(*e));
  }
  if (out.filter) {
    collect_heads(*out.filter, out.filter_heads);
  }

  // Legacy forms.
  const std::string op = params.value("ConditionalOperator", "AND");
  if ((kinds & kCondition) && member(params, "Expected") != nullptr) {
    expr::Condition c;
    if (auto e = legacy_condition(params["Expected"], op, true, c)) {
      return e;
    }
    out.condition = std::move(c);
  }
  if ((kinds & kFilter) && filter_legacy != nullptr && member(params, filter_legacy) != nullptr) {
    expr::Condition c;
    if (auto e = legacy_condition(params[filter_legacy], op, false, c, &out.filter_heads)) {
      return e;
    }
    out.filter = std::move(c);
  }
  if ((kinds & kKeyCondition) && !out.key_condition && member(params, "KeyConditions") != nullptr) {
    expr::Condition c;
    if (auto e = legacy_condition(params["KeyConditions"], "AND", false, c)) {
      return e;
    }
    out.key_condition = std::move(c);
  }
  if ((kinds & kUpdate) && member(params, "AttributeUpdates") != nullptr) {
    expr::Update u;
    if (auto e = legacy_update(params["AttributeUpdates"], u)) {
      return e;
    }
    out.update = std::move(u);
    out.legacy_update = true;
  }
  if ((kinds & kProjection) && member(params, "AttributesToGet") != nullptr) {
    std::vector<expr::Path> paths;
    std::set<std::string> seen;
    for (const Json& a : params["AttributesToGet"]) {
      const std::string name = a.is_string() ? a.get<std::string>() : std::string();
      if (!seen.insert(name).second) {
        return validation_error(kInvalid + "Duplicate value in attribute name: " + name);
      }
      paths.push_back({expr::PathElement{name, -1}});
    }
    out.projection = std::move(paths);
  }
  return std::nullopt;
}

// ---- capacity and responses ------------------------------------------------------------------

double read_units(size_t bytes, bool consistent) {
  const double units = static_cast<double>(std::max<size_t>(1, (bytes + 4095) / 4096));
  return consistent ? units : units / 2;
}

double write_units(size_t bytes) { return static_cast<double>(std::max<size_t>(1, (bytes + 1023) / 1024)); }

Json capacity_json(const std::string& mode, const std::string& table, double units, bool write) {
  Json c{{"TableName", table}, {"CapacityUnits", units}, {write ? "WriteCapacityUnits" : "ReadCapacityUnits", units}};
  if (mode == "INDEXES") {
    c["Table"] = Json{{"CapacityUnits", units}, {write ? "WriteCapacityUnits" : "ReadCapacityUnits", units}};
  }
  return c;
}

void append_capacity(std::string& out, const Json& params, const std::string& table, double units, bool write) {
  auto it = params.find("ReturnConsumedCapacity");
  if (it == params.end() || !it->is_string() || *it == "NONE") {
    return;
  }
  if (out.size() > 1) {
    out += ',';
  }
  out += "\"ConsumedCapacity\":";
  dump_to(out, capacity_json(it->get<std::string>(), table, units, write));
}

void append_member(std::string& out, std::string_view name, bool& first) {
  if (!first) {
    out += ',';
  }
  first = false;
  out += '"';
  out += name;
  out += "\":";
}

}  // namespace sless::services::dynamodb
