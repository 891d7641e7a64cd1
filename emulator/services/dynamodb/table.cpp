#include "services/dynamodb/table.h"

#include <algorithm>
#include <set>

#include "core/ids.h"
#include "core/time_format.h"

namespace sless::services::dynamodb {

namespace {


ServiceError validation(std::string message) { return ServiceError::validation(std::move(message)); }

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i > 0 ? ", " : "") + names[i];
  }
  return out;
}

std::vector<std::string> key_names(const Json& key_schema) {
  std::vector<std::string> out;
  for (const Json& k : key_schema) {
    out.push_back(k.value("AttributeName", ""));
  }
  return out;
}

// Checks a KeySchema against the attribute definitions; fills `out`.
std::optional<ServiceError> parse_key_schema(const Json& key_schema, const Json& definitions, KeySchema& out) {
  std::vector<std::string> defined;
  for (const Json& d : definitions) {
    defined.push_back(d.value("AttributeName", ""));
  }
  const std::vector<std::string> keys = key_names(key_schema);
  if (keys.empty() || keys.size() > 2) {
    return validation("1 validation error detected: Value '" + dump(key_schema) +
                      "' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2");
  }
  if (keys.size() > defined.size()) {
    return validation("Invalid KeySchema: Some index key attribute have no definition");
  }
  for (const std::string& k : keys) {
    if (std::find(defined.begin(), defined.end(), k) == defined.end()) {
      return validation(kInvalid + "Some index key attributes are not defined in AttributeDefinitions. Keys: [" +
                        join(keys) + "], AttributeDefinitions: [" + join(defined) + "]");
    }
  }
  if (keys.size() == 2 && keys[0] == keys[1]) {
    return validation("Both the Hash Key and the Range Key element in the KeySchema have the same name");
  }
  if (key_schema[0].value("KeyType", "") != "HASH") {
    return validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
  }
  if (keys.size() == 2 && key_schema[1].value("KeyType", "") != "RANGE") {
    return validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
  }
  auto type_for = [&](const std::string& name) {
    for (const Json& d : definitions) {
      if (d.value("AttributeName", "") == name) {
        return type_from_name(d.value("AttributeType", ""));
      }
    }
    return Type::kInvalid;
  };
  out.hash = {keys[0], type_for(keys[0])};
  if (keys.size() == 2) {
    out.range = KeyAttr{keys[1], type_for(keys[1])};
  } else {
    out.range.reset();
  }
  return std::nullopt;
}

std::optional<ServiceError> parse_projection(const Json& projection, IndexDef& index) {
  const std::string type = projection.value("ProjectionType", "");
  if (type.empty()) {
    return validation(kInvalid + "Unknown ProjectionType: null");
  }
  if (projection.contains("NonKeyAttributes") && type != "INCLUDE") {
    return validation(kInvalid + "ProjectionType is " + type + ", but NonKeyAttributes is specified");
  }
  index.projection = type == "ALL" ? ProjectionType::kAll : type == "KEYS_ONLY" ? ProjectionType::kKeysOnly
                                                                                : ProjectionType::kInclude;
  index.non_key_attributes.clear();
  if (index.projection == ProjectionType::kInclude) {
    for (const Json& a : projection.value("NonKeyAttributes", Json::array())) {
      index.non_key_attributes.push_back(a.get<std::string>());
    }
  }
  return std::nullopt;
}

// A GSI's ProvisionedThroughput: required for provisioned tables, refused for on-demand ones.
std::optional<ServiceError> gsi_throughput(const TableDef& def, const Json& spec, IndexDef& index) {
  if (def.on_demand && spec.contains("ProvisionedThroughput")) {
    return validation(kInvalid + "ProvisionedThroughput should not be specified for index: " + index.name +
                      " when BillingMode is PAY_PER_REQUEST");
  }
  if (!def.on_demand) {
    const Json& pt = spec.value("ProvisionedThroughput", Json());
    if (!pt.is_object()) {
      return validation(kInvalid + "ProvisionedThroughput must be specified for index: " + index.name);
    }
    index.rcu = pt.value("ReadCapacityUnits", int64_t{0});
    index.wcu = pt.value("WriteCapacityUnits", int64_t{0});
  }
  return std::nullopt;
}

Json projection_json(const IndexDef& index) {
  Json p = Json::object();
  switch (index.projection) {
    case ProjectionType::kAll: p["ProjectionType"] = "ALL"; break;
    case ProjectionType::kKeysOnly: p["ProjectionType"] = "KEYS_ONLY"; break;
    case ProjectionType::kInclude:
      p["ProjectionType"] = "INCLUDE";
      p["NonKeyAttributes"] = index.non_key_attributes;
      break;
  }
  return p;
}

Json key_attr_meta(const KeyAttr& k) { return Json{{"name", k.name}, {"type", std::string(type_name(k.type))}}; }

std::optional<KeyAttr> key_attr_from_meta(const Json& j) {
  if (!j.is_object()) {
    return std::nullopt;
  }
  KeyAttr k{j.value("name", ""), type_from_name(j.value("type", ""))};
  if (k.name.empty() || !is_scalar_key_type(k.type)) {
    return std::nullopt;
  }
  return k;
}

Json key_schema_meta(const KeySchema& k) {
  Json j{{"hash", key_attr_meta(k.hash)}};
  if (k.range) {
    j["range"] = key_attr_meta(*k.range);
  }
  return j;
}

std::optional<KeySchema> key_schema_from_meta(const Json& j) {
  if (!j.is_object()) {
    return std::nullopt;
  }
  auto hash = key_attr_from_meta(j.value("hash", Json()));
  if (!hash) {
    return std::nullopt;
  }
  KeySchema k;
  k.hash = *hash;
  if (j.contains("range")) {
    k.range = key_attr_from_meta(j["range"]);
    if (!k.range) {
      return std::nullopt;
    }
  }
  return k;
}

Json throughput_json(int64_t rcu, int64_t wcu, int64_t increased_ms, int64_t decreased_ms) {
  Json t{{"NumberOfDecreasesToday", 0}, {"ReadCapacityUnits", rcu}, {"WriteCapacityUnits", wcu}};
  if (increased_ms > 0) {
    t["LastIncreaseDateTime"] = seconds(increased_ms);
  }
  if (decreased_ms > 0) {
    t["LastDecreaseDateTime"] = seconds(decreased_ms);
  }
  return t;
}

}  // namespace

Json KeySchema::to_json() const {
  Json out = Json::array({Json{{"AttributeName", hash.name}, {"KeyType", "HASH"}}});
  if (range) {
    out.push_back(Json{{"AttributeName", range->name}, {"KeyType", "RANGE"}});
  }
  return out;
}

Json IndexDef::to_meta() const {
  Json j{{"name", name}, {"global", global}, {"id", id}, {"key", key_schema_meta(key)},
         {"projection", projection_json(*this)}, {"creating", creating}, {"rcu", rcu}, {"wcu", wcu}};
  return j;
}

std::optional<IndexDef> IndexDef::from_meta(const Json& j) {
  if (!j.is_object()) {
    return std::nullopt;
  }
  IndexDef d;
  d.name = j.value("name", "");
  d.global = j.value("global", true);
  d.id = j.value("id", 0u);
  auto key = key_schema_from_meta(j.value("key", Json()));
  if (!key || d.name.empty() || d.id == 0) {
    return std::nullopt;
  }
  d.key = *key;
  if (parse_projection(j.value("projection", Json::object()), d)) {
    return std::nullopt;
  }
  d.creating = j.value("creating", false);
  d.rcu = j.value("rcu", int64_t{0});
  d.wcu = j.value("wcu", int64_t{0});
  return d;
}

std::string TableDef::arn() const { return ids::arn("dynamodb", region, account, "table/" + name); }

std::string TableDef::stream_arn() const {
  return stream_id == 0 ? std::string() : arn() + "/stream/" + stream_label;
}

const IndexDef* TableDef::find_index(std::string_view index_name) const {
  for (const IndexDef& i : indexes) {
    if (i.name == index_name) {
      return &i;
    }
  }
  return nullptr;
}

Json TableDef::to_meta() const {
  Json idx = Json::array();
  for (const IndexDef& i : indexes) {
    idx.push_back(i.to_meta());
  }
  return Json{{"account", account},
              {"region", region},
              {"name", name},
              {"id", std::to_string(id)},
              {"table_id", table_id},
              {"created_ms", created_ms},
              {"key", key_schema_meta(key)},
              {"attribute_definitions", attribute_definitions},
              {"indexes", std::move(idx)},
              {"next_index_id", next_index_id},
              {"on_demand", on_demand},
              {"rcu", rcu},
              {"wcu", wcu},
              {"billing_changed_ms", billing_changed_ms},
              {"throughput_increased_ms", throughput_increased_ms},
              {"throughput_decreased_ms", throughput_decreased_ms},
              {"stream_enabled", stream_enabled},
              {"stream_view_type", stream_view_type},
              {"stream_id", std::to_string(stream_id)},
              {"stream_label", stream_label},
              {"ttl_enabled", ttl_enabled},
              {"ttl_attribute", ttl_attribute},
              {"tags", tags},
              {"sse_enabled", sse_enabled},
              {"sse_kms_key", sse_kms_key},
              {"deletion_protection", deletion_protection},
              {"table_class", table_class}};
}

std::optional<TableDef> TableDef::from_meta(const Json& j) {
  if (!j.is_object()) {
    return std::nullopt;
  }
  TableDef d;
  d.account = j.value("account", "");
  d.region = j.value("region", "");
  d.name = j.value("name", "");
  d.id = std::strtoull(j.value("id", "0").c_str(), nullptr, 10);
  d.table_id = j.value("table_id", "");
  d.created_ms = j.value("created_ms", int64_t{0});
  auto key = key_schema_from_meta(j.value("key", Json()));
  if (!key || d.name.empty() || d.id == 0) {
    return std::nullopt;
  }
  d.key = *key;
  d.attribute_definitions = j.value("attribute_definitions", Json::array());
  for (const Json& i : j.value("indexes", Json::array())) {
    auto index = IndexDef::from_meta(i);
    if (!index) {
      return std::nullopt;
    }
    d.indexes.push_back(std::move(*index));
  }
  d.next_index_id = j.value("next_index_id", 1u);
  d.on_demand = j.value("on_demand", false);
  d.rcu = j.value("rcu", int64_t{0});
  d.wcu = j.value("wcu", int64_t{0});
  d.billing_changed_ms = j.value("billing_changed_ms", int64_t{0});
  d.throughput_increased_ms = j.value("throughput_increased_ms", int64_t{0});
  d.throughput_decreased_ms = j.value("throughput_decreased_ms", int64_t{0});
  d.stream_enabled = j.value("stream_enabled", false);
  d.stream_view_type = j.value("stream_view_type", "");
  d.stream_id = std::strtoull(j.value("stream_id", "0").c_str(), nullptr, 10);
  d.stream_label = j.value("stream_label", "");
  d.ttl_enabled = j.value("ttl_enabled", false);
  d.ttl_attribute = j.value("ttl_attribute", "");
  d.tags = j.value("tags", Json::object());
  d.sse_enabled = j.value("sse_enabled", false);
  d.sse_kms_key = j.value("sse_kms_key", "");
  d.deletion_protection = j.value("deletion_protection", false);
  d.table_class = j.value("table_class", "STANDARD");
  return d;
}

Outcome<IndexDef> index_from_create(const Json& create, TableDef& def, const Json& attribute_definitions) {
  IndexDef index;
  index.name = create.value("IndexName", "");
  index.global = true;
  Json definitions = def.attribute_definitions;
  for (const Json& d : attribute_definitions) {
    const std::string name = d.value("AttributeName", "");
    bool known = false;
    for (const Json& existing : definitions) {
      if (existing.value("AttributeName", "") == name) {
        known = true;
        if (existing.value("AttributeType", "") != d.value("AttributeType", "")) {
          return validation(kInvalid + "Cannot change the type of an existing attribute definition: " + name);
        }
      }
    }
    if (!known) {
      definitions.push_back(d);
    }
  }
  const Json& ks = create.value("KeySchema", Json::array());
  std::vector<std::string> defined;
  for (const Json& d : definitions) {
    defined.push_back(d.value("AttributeName", ""));
  }
  for (const std::string& k : key_names(ks)) {
    if (std::find(defined.begin(), defined.end(), k) == defined.end()) {
      return validation(kInvalid + "Some index key attributes are not defined in AttributeDefinitions. Keys: [" +
                        join(key_names(ks)) + "], AttributeDefinitions: [" + join(defined) + "]");
    }
  }
  if (auto e = parse_key_schema(ks, definitions, index.key)) {
    return std::move(*e);
  }
  if (auto e = parse_projection(create.value("Projection", Json::object()), index)) {
    return std::move(*e);
  }
  if (auto e = gsi_throughput(def, create, index)) {
    return std::move(*e);
  }
  if (def.find_index(index.name) != nullptr) {
    return validation(kInvalid + "Duplicate index name: " + index.name);
  }
  def.attribute_definitions = std::move(definitions);
  index.id = def.next_index_id++;
  return index;
}

Outcome<TableDef> table_from_create(const Json& params, const std::string& account, const std::string& region,
                                    int64_t now_ms) {
  TableDef def;
  def.account = account;
  def.region = region;
  def.name = params.value("TableName", "");
  def.created_ms = now_ms;
  def.table_id = ids::uuid();
  def.on_demand = params.value("BillingMode", "PROVISIONED") == "PAY_PER_REQUEST";
  const Json& pt = params.value("ProvisionedThroughput", Json());
  if (def.on_demand) {
    if (pt.is_object()) {
      return validation(kInvalid +
                        "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
    }
    def.billing_changed_ms = now_ms;
  } else {
    if (!pt.is_object() || !pt.contains("ReadCapacityUnits") || !pt.contains("WriteCapacityUnits")) {
      return validation(kInvalid +
                        "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED");
    }
    def.rcu = pt["ReadCapacityUnits"].get<int64_t>();
    def.wcu = pt["WriteCapacityUnits"].get<int64_t>();
  }

  const Json& definitions = params.value("AttributeDefinitions", Json::array());
  std::set<std::string> defined;
  for (const Json& d : definitions) {
    if (!defined.insert(d.value("AttributeName", "")).second) {
      return validation(kInvalid + "Duplicate value in attribute name: " + d.value("AttributeName", ""));
    }
  }
  def.attribute_definitions = definitions;
  const Json& ks = params.value("KeySchema", Json::array());
  if (auto e = parse_key_schema(ks, definitions, def.key)) {
    return std::move(*e);
  }
  const std::vector<std::string> table_keys = key_names(ks);
  std::set<std::string> used(table_keys.begin(), table_keys.end());
  const bool has_lsi = params.contains("LocalSecondaryIndexes");
  const bool has_gsi = params.contains("GlobalSecondaryIndexes");
  if (!has_lsi && !has_gsi && ks.size() != definitions.size()) {
    return validation(kInvalid +
                      "Number of attributes in KeySchema does not exactly match number of attributes defined in "
                      "AttributeDefinitions");
  }
  std::set<std::string> index_names;
  auto add = [&](IndexDef index, const Json& iks) -> std::optional<ServiceError> {
    if (!index_names.insert(index.name).second) {
      return validation(kInvalid + "Duplicate index name: " + index.name);
    }
    for (const std::string& k : key_names(iks)) {
      used.insert(k);
    }
    index.id = def.next_index_id++;
    def.indexes.push_back(std::move(index));
    return std::nullopt;
  };
  if (has_lsi) {
    const Json& lsis = params["LocalSecondaryIndexes"];
    if (lsis.empty()) {
      return validation(kInvalid + "List of LocalSecondaryIndexes is empty");
    }
    if (!def.key.range) {
      return validation(kInvalid +
                        "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex");
    }
    for (const Json& l : lsis) {
      IndexDef index;
      index.name = l.value("IndexName", "");
      index.global = false;
      const Json& iks = l.value("KeySchema", Json::array());
      if (auto e = parse_key_schema(iks, definitions, index.key)) {
        return std::move(*e);
      }
      if (!index.key.range) {
        return validation(kInvalid + "Index KeySchema does not have a range key for index: " + index.name);
      }
      if (index.key.hash.name != def.key.hash.name) {
        return validation(kInvalid +
                          "Index KeySchema does not have the same leading hash key as table KeySchema for index: " +
                          index.name + ". index hash key: " + index.key.hash.name + ", table hash key: " +
                          def.key.hash.name);
      }
      if (auto e = parse_projection(l.value("Projection", Json::object()), index)) {
        return std::move(*e);
      }
      if (auto e = add(std::move(index), iks)) {
        return std::move(*e);
      }
    }
    if (lsis.size() > 5) {
      return validation(kInvalid + "Number of LocalSecondaryIndexes exceeds per-table limit of 5");
    }
  }
  if (has_gsi) {
    const Json& gsis = params["GlobalSecondaryIndexes"];
    if (gsis.empty()) {
      return validation(kInvalid + "List of GlobalSecondaryIndexes is empty");
    }
    for (const Json& g : gsis) {
      IndexDef index;
      index.name = g.value("IndexName", "");
      const Json& iks = g.value("KeySchema", Json::array());
      if (auto e = parse_key_schema(iks, definitions, index.key)) {
        return std::move(*e);
      }
      if (auto e = parse_projection(g.value("Projection", Json::object()), index)) {
        return std::move(*e);
      }
      if (auto e = gsi_throughput(def, g, index)) {
        return std::move(*e);
      }
      if (auto e = add(std::move(index), iks)) {
        return std::move(*e);
      }
    }
    if (gsis.size() > 20) {
      return validation(kInvalid + "GlobalSecondaryIndex count exceeds the per-table limit of 20");
    }
  }
  if (used.size() != defined.size()) {
    std::vector<std::string> all(defined.begin(), defined.end());
    std::vector<std::string> keys(used.begin(), used.end());
    return validation(kInvalid + "Some AttributeDefinitions are not used. AttributeDefinitions: [" +
                      join(all) + "], keys used: [" + join(keys) + "]");
  }

  const Json& stream = params.value("StreamSpecification", Json());
  if (stream.is_object() && stream.value("StreamEnabled", false)) {
    if (!stream.contains("StreamViewType")) {
      return validation(kInvalid + "StreamViewType is required when StreamEnabled is true");
    }
    def.stream_enabled = true;
    def.stream_view_type = stream["StreamViewType"].get<std::string>();
  }
  const Json& sse = params.value("SSESpecification", Json());
  if (sse.is_object() && sse.value("Enabled", false)) {
    def.sse_enabled = true;
    def.sse_kms_key = sse.value("KMSMasterKeyId", "");
  }
  for (const Json& t : params.value("Tags", Json::array())) {
    def.tags[t.value("Key", "")] = t.value("Value", "");
  }
  def.deletion_protection = params.value("DeletionProtectionEnabled", false);
  def.table_class = params.value("TableClass", "STANDARD");
  return def;
}

Json describe_table(const TableDef& def, const std::string& status,
                    const std::function<TableCounts(uint32_t)>& counts) {
  const TableCounts table = counts(0);
  Json d{{"AttributeDefinitions", def.attribute_definitions},
         {"TableName", def.name},
         {"KeySchema", def.key.to_json()},
         {"TableStatus", status},
         {"CreationDateTime", seconds(def.created_ms)},
         {"ProvisionedThroughput",
          throughput_json(def.rcu, def.wcu, def.throughput_increased_ms, def.throughput_decreased_ms)},
         {"TableSizeBytes", table.bytes},
         {"ItemCount", table.items},
         {"TableArn", def.arn()},
         {"TableId", def.table_id},
         {"DeletionProtectionEnabled", def.deletion_protection}};
  if (def.on_demand || def.billing_changed_ms > 0) {
    Json summary{{"BillingMode", def.on_demand ? "PAY_PER_REQUEST" : "PROVISIONED"}};
    if (def.billing_changed_ms > 0) {
      summary["LastUpdateToPayPerRequestDateTime"] = seconds(def.billing_changed_ms);
    }
    d["BillingModeSummary"] = std::move(summary);
  }
  Json lsis = Json::array();
  Json gsis = Json::array();
  for (const IndexDef& i : def.indexes) {
    const TableCounts c = counts(i.id);
    Json entry{{"IndexName", i.name},
               {"KeySchema", i.key.to_json()},
               {"Projection", projection_json(i)},
               {"IndexSizeBytes", c.bytes},
               {"ItemCount", c.items},
               {"IndexArn", def.arn() + "/index/" + i.name}};
    if (i.global) {
      entry["IndexStatus"] = i.creating ? "CREATING" : "ACTIVE";
      if (i.creating) {
        entry["Backfilling"] = true;
      }
      entry["ProvisionedThroughput"] = throughput_json(i.rcu, i.wcu, 0, 0);
      gsis.push_back(std::move(entry));
    } else {
      lsis.push_back(std::move(entry));
    }
  }
  if (!lsis.empty()) {
    d["LocalSecondaryIndexes"] = std::move(lsis);
  }
  if (!gsis.empty()) {
    d["GlobalSecondaryIndexes"] = std::move(gsis);
  }
  if (def.stream_enabled) {
    d["StreamSpecification"] = Json{{"StreamEnabled", true}, {"StreamViewType", def.stream_view_type}};
  }
  if (def.stream_id != 0) {
    d["LatestStreamLabel"] = def.stream_label;
    d["LatestStreamArn"] = def.stream_arn();
  }
  if (def.sse_enabled) {
    d["SSEDescription"] = Json{{"Status", "ENABLED"},
                               {"SSEType", "KMS"},
                               {"KMSMasterKeyArn", def.sse_kms_key.empty()
                                                       ? ids::arn("kms", def.region, def.account, "key/aws/dynamodb")
                                                       : def.sse_kms_key}};
  }
  if (def.table_class != "STANDARD") {
    d["TableClassSummary"] = Json{{"TableClass", def.table_class}};
  }
  return d;
}

std::optional<Json> index_projection(const TableDef& def, const IndexDef& index, const Json& item) {
  auto present = [&](const KeyAttr& k) {
    auto it = item.find(k.name);
    return it != item.end() && type_of(*it) == k.type;
  };
  if (!present(index.key.hash) || (index.key.range && !present(*index.key.range))) {
    return std::nullopt;
  }
  if (index.projection == ProjectionType::kAll) {
    return item;
  }
  Json out = Json::object();
  auto copy = [&](const std::string& name) {
    auto it = item.find(name);
    if (it != item.end()) {
      out[name] = *it;
    }
  };
  copy(def.key.hash.name);
  if (def.key.range) {
    copy(def.key.range->name);
  }
  copy(index.key.hash.name);
  if (index.key.range) {
    copy(index.key.range->name);
  }
  for (const std::string& a : index.non_key_attributes) {
    copy(a);
  }
  return out;
}

std::string table_name_param(const Json& params, const char* member) {
  auto it = params.find(member);
  if (it == params.end() || !it->is_string()) {
    return {};
  }
  const std::string& name = it->get_ref<const std::string&>();
  if (name.rfind("arn:", 0) != 0) {
    return name;
  }
  const size_t at = name.find(":table/");
  if (at == std::string::npos) {
    return {};
  }
  std::string rest = name.substr(at + 7);
  return rest.substr(0, rest.find('/'));
}

}  // namespace sless::services::dynamodb
