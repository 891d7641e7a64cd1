// Table operations: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable, TTL,
// tags, DescribeEndpoints and DescribeLimits. A table is usable as soon as CreateTable answers;
// the mutating calls answer CREATING / UPDATING / DELETING as AWS does, and DescribeTable
// reports ACTIVE (the transition is instant here).
#include <algorithm>

#include "core/ids.h"
#include "services/dynamodb/common.h"
#include "services/dynamodb/ops.h"

namespace sless::services::dynamodb::ops {

namespace {

constexpr size_t kMaxTags = 50;

ServiceError table_missing(const std::string& name) {
  return ServiceError("ResourceNotFoundException", "Requested resource not found: Table: " + name + " not found");
}

bool valid_table_name(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

Json description(Engine& e, const std::shared_ptr<Table>& table, const TableDef& def, const std::string& status) {
  return describe_table(def, status, [&](uint32_t index_id) { return e.counts(table, index_id); });
}

// The table a resource ARN names ("arn:aws:dynamodb:<region>:<account>:table/<name>").
Outcome<std::shared_ptr<Table>> table_of_arn(Engine& e, const RequestContext& ctx, const std::string& arn) {
  const size_t at = arn.find(":table/");
  if (arn.rfind("arn:", 0) != 0 || at == std::string::npos) {
    return validation_error("Invalid TableArn: Invalid ResourceArn provided as input " + arn);
  }
  std::string name = arn.substr(at + 7);
  name = name.substr(0, name.find('/'));
  auto table = e.find(ctx.account, ctx.region, name);
  if (!table) {
    return ServiceError("ResourceNotFoundException", "Requested resource not found: ResourcArn: " + arn + " not found");
  }
  return table;
}

}  // namespace

Output create_table(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string name = p.value("TableName", "");
  if (name.size() < 3 || name.size() > 255) {
    return validation_error("1 validation error detected: Value '" + name +
                            "' at 'tableName' failed to satisfy constraint: Member must have length " +
                            (name.size() < 3 ? "greater than or equal to 3" : "less than or equal to 255"));
  }
  if (!valid_table_name(name)) {
    return validation_error("1 validation error detected: Value '" + name +
                            "' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression "
                            "pattern: [a-zA-Z0-9_.-]+");
  }
  auto def = table_from_create(p, ctx.account, ctx.region, ctx.now_ms);
  if (!def.ok()) {
    return std::move(def).error();
  }
  if (def.value().tags.size() > kMaxTags) {
    return validation_error("The number of tags exceeds the limit of 50");
  }
  auto table = e.create_table(std::move(def).value());
  if (!table.ok()) {
    return std::move(table).error();
  }
  auto& t = *table.value();
  return protocol::OperationOutput(Json{{"TableDescription", description(e, table.value(), *t.def(), "CREATING")}});
}

Output describe_table(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string name = table_name_param(p);
  auto table = e.find(ctx.account, ctx.region, name);
  if (!table) {
    return table_missing(name);
  }
  return protocol::OperationOutput(Json{{"Table", description(e, table, *table->def(), "ACTIVE")}});
}

Output list_tables(Engine& e, const RequestContext& ctx, Json& p) {
  const std::vector<std::string> names = e.table_names(ctx.account, ctx.region);
  const std::string start = p.value("ExclusiveStartTableName", "");
  const size_t limit = p.value("Limit", size_t{100});
  auto it = start.empty() ? names.begin() : std::upper_bound(names.begin(), names.end(), start);
  Json page = Json::array();
  for (; it != names.end() && page.size() < limit; ++it) {
    page.push_back(*it);
  }
  Json out{{"TableNames", page}};
  if (it != names.end() && !page.empty()) {
    out["LastEvaluatedTableName"] = page.back();
  }
  return protocol::OperationOutput(std::move(out));
}

Output delete_table(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string name = table_name_param(p);
  auto table = e.find(ctx.account, ctx.region, name);
  if (!table) {
    return table_missing(name);
  }
  Json before = description(e, table, *table->def(), "DELETING");
  auto deleted = e.delete_table(ctx.account, ctx.region, name);
  if (!deleted.ok()) {
    return std::move(deleted).error();
  }
  return protocol::OperationOutput(Json{{"TableDescription", std::move(before)}});
}

Output update_table(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string name = table_name_param(p);
  auto table = e.find(ctx.account, ctx.region, name);
  if (!table) {
    return table_missing(name);
  }
  static constexpr const char* kChanges[] = {"ProvisionedThroughput", "BillingMode", "StreamSpecification",
                                             "GlobalSecondaryIndexUpdates", "SSESpecification", "ReplicaUpdates",
                                             "DeletionProtectionEnabled", "TableClass", "OnDemandThroughput",
                                             "WarmThroughput"};
  if (std::none_of(std::begin(kChanges), std::end(kChanges), [&](const char* k) { return p.contains(k); })) {
    return validation_error("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                            "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required");
  }
  const std::shared_ptr<const TableDef> current = table->def();

  // Billing, throughput, encryption, protection and class: one definition change.
  const bool billing = p.contains("BillingMode");
  const bool throughput = p.contains("ProvisionedThroughput");
  const int64_t now = ctx.now_ms;
  auto apply = [&](TableDef& d) -> std::optional<ServiceError> {
    const bool to_on_demand = billing ? p["BillingMode"] == "PAY_PER_REQUEST" : d.on_demand;
    if (billing && p["BillingMode"] == "PROVISIONED" && !throughput && d.on_demand) {
      return validation_error(kInvalid + "ProvisionedThroughput must be specified when BillingMode is PROVISIONED");
    }
    if (throughput) {
      if (to_on_demand) {
        return validation_error(kInvalid +
                                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is "
                                "PAY_PER_REQUEST");
      }
      const int64_t rcu = p["ProvisionedThroughput"].value("ReadCapacityUnits", d.rcu);
      const int64_t wcu = p["ProvisionedThroughput"].value("WriteCapacityUnits", d.wcu);
      if (rcu == d.rcu && wcu == d.wcu && !d.on_demand && !p.contains("GlobalSecondaryIndexUpdates")) {
        return validation_error(
            "The provisioned throughput for the table will not change. The requested value equals the current value. "
            "Current ReadCapacityUnits provisioned for the table: " + std::to_string(d.rcu) +
            ". Requested ReadCapacityUnits: " + std::to_string(rcu) +
            ". Current WriteCapacityUnits provisioned for the table: " + std::to_string(d.wcu) +
            ". Requested WriteCapacityUnits: " + std::to_string(wcu) +
            ". Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.");
      }
      if (rcu > d.rcu || wcu > d.wcu) {
        d.throughput_increased_ms = now;
      }
      if (rcu < d.rcu || wcu < d.wcu) {
        d.throughput_decreased_ms = now;
      }
      d.rcu = rcu;
      d.wcu = wcu;
    }
    if (billing && to_on_demand != d.on_demand) {
      d.on_demand = to_on_demand;
      d.billing_changed_ms = now;
      if (to_on_demand) {
        d.rcu = 0;
        d.wcu = 0;
      }
    }
    if (p.contains("SSESpecification")) {
      d.sse_enabled = p["SSESpecification"].value("Enabled", d.sse_enabled);
      d.sse_kms_key = p["SSESpecification"].value("KMSMasterKeyId", d.sse_kms_key);
    }
    if (p.contains("DeletionProtectionEnabled")) {
      d.deletion_protection = p["DeletionProtectionEnabled"].get<bool>();
    }
    if (p.contains("TableClass")) {
      d.table_class = p["TableClass"].get<std::string>();
    }
    return std::nullopt;
  };

  // Everything is checked before anything changes.
  TableDef scratch = *current;
  if (auto err = apply(scratch)) {
    return std::move(*err);
  }
  const Json no_updates = Json::array();
  const Json& updates = p.contains("GlobalSecondaryIndexUpdates") ? p["GlobalSecondaryIndexUpdates"] : no_updates;
  const Json definitions = p.value("AttributeDefinitions", Json::array());
  std::vector<std::optional<IndexDef>> created;
  {
    size_t online = 0;
    std::set<std::string> names;
    for (const Json& u : updates) {
      const Json* action = u.contains("Create") ? &u["Create"] : u.contains("Delete") ? &u["Delete"]
                                                             : u.contains("Update") ? &u["Update"] : nullptr;
      if (action == nullptr) {
        return validation_error(kInvalid +
                                "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
                                "GlobalSecondaryIndexUpdate.Delete must not be null");
      }
      const std::string index = action->value("IndexName", "");
      if (!names.insert(index).second) {
        return validation_error(kInvalid +
                                "Only one global secondary index update per index is allowed simultaneously. Index: " +
                                index);
      }
      online += u.contains("Create") || u.contains("Delete") ? 1 : 0;
      const bool busy = std::any_of(scratch.indexes.begin(), scratch.indexes.end(),
                                    [](const IndexDef& i) { return i.creating; });
      if (online > 1 || ((u.contains("Create") || u.contains("Delete")) && busy)) {
        return ServiceError("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or "
                                                      "deleted simultaneously per table");
      }
      if (u.contains("Create")) {
        auto made = index_from_create(u["Create"], scratch, definitions);
        if (!made.ok()) {
          return std::move(made).error();
        }
        if (std::count_if(scratch.indexes.begin(), scratch.indexes.end(), [](const IndexDef& i) { return i.global; }) >=
            20) {
          return ServiceError("LimitExceededException", "GlobalSecondaryIndex count exceeds the per-table limit of 20");
        }
        created.push_back(std::move(made).value());
        continue;
      }
      const IndexDef* existing = scratch.find_index(index);
      if (existing == nullptr || !existing->global) {
        return ServiceError("ResourceNotFoundException", "Requested resource not found: Index: " + index + " not found");
      }
      created.emplace_back();
    }
  }
  std::optional<std::pair<bool, std::string>> stream;
  if (p.contains("StreamSpecification")) {
    const Json& spec = p["StreamSpecification"];
    const bool enabled = spec.value("StreamEnabled", false);
    if (enabled && !spec.contains("StreamViewType")) {
      return validation_error(kInvalid + "StreamViewType is required when StreamEnabled is true");
    }
    if (enabled && current->stream_enabled) {
      return validation_error("Table already has an enabled stream: TableName: " + current->name);
    }
    if (!enabled && !current->stream_enabled) {
      return validation_error("Table already has stream disabled: TableName: " + current->name);
    }
    stream.emplace(enabled, spec.value("StreamViewType", ""));
  }

  auto changed = e.change(*table, apply);
  if (!changed.ok()) {
    return std::move(changed).error();
  }
  for (size_t i = 0; i < updates.size(); ++i) {
    const Json& u = updates[i];
    Outcome<std::shared_ptr<const TableDef>> done = std::shared_ptr<const TableDef>();
    if (created[i]) {
      done = e.add_index(table, std::move(*created[i]), definitions);
    } else if (u.contains("Delete")) {
      done = e.delete_index(*table, u["Delete"].value("IndexName", ""));
    } else {
      const Json& upd = u["Update"];
      const std::string index = upd.value("IndexName", "");
      done = e.change(*table, [&](TableDef& d) -> std::optional<ServiceError> {
        for (IndexDef& x : d.indexes) {
          if (x.name == index) {
            const Json& pt = upd.value("ProvisionedThroughput", Json::object());
            x.rcu = pt.value("ReadCapacityUnits", x.rcu);
            x.wcu = pt.value("WriteCapacityUnits", x.wcu);
          }
        }
        return std::nullopt;
      });
    }
    if (!done.ok()) {
      return std::move(done).error();
    }
  }
  if (stream) {
    auto streamed = e.set_stream(*table, stream->first, stream->second);
    if (!streamed.ok()) {
      return std::move(streamed).error();
    }
  }
  return protocol::OperationOutput(Json{{"TableDescription", description(e, table, *table->def(), "UPDATING")}});
}

Output update_time_to_live(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string name = table_name_param(p);
  auto table = e.find(ctx.account, ctx.region, name);
  if (!table) {
    return table_missing(name);
  }
  const Json& spec = p["TimeToLiveSpecification"];
  const bool enabled = spec.value("Enabled", false);
  const std::string attribute = spec.value("AttributeName", "");
  const std::shared_ptr<const TableDef> def = table->def();
  if (enabled && def->ttl_enabled) {
    return validation_error("TimeToLive is already enabled");
  }
  if (!enabled && !def->ttl_enabled) {
    return validation_error("TimeToLive is already disabled");
  }
  if (!enabled && attribute != def->ttl_attribute) {
    return validation_error("TimeToLive is active on a different AttributeName: current AttributeName is " +
                            def->ttl_attribute);
  }
  auto changed = e.set_ttl(table, enabled, attribute);
  if (!changed.ok()) {
    return std::move(changed).error();
  }
  return protocol::OperationOutput(
      Json{{"TimeToLiveSpecification", Json{{"Enabled", enabled}, {"AttributeName", attribute}}}});
}

Output describe_time_to_live(Engine& e, const RequestContext& ctx, Json& p) {
  const std::string name = table_name_param(p);
  auto table = e.find(ctx.account, ctx.region, name);
  if (!table) {
    return table_missing(name);
  }
  const std::shared_ptr<const TableDef> def = table->def();
  Json d{{"TimeToLiveStatus", def->ttl_enabled ? "ENABLED" : "DISABLED"}};
  if (def->ttl_enabled) {
    d["AttributeName"] = def->ttl_attribute;
  }
  return protocol::OperationOutput(Json{{"TimeToLiveDescription", std::move(d)}});
}

Output tag_resource(Engine& e, const RequestContext& ctx, Json& p) {
  auto table = table_of_arn(e, ctx, p.value("ResourceArn", ""));
  if (!table.ok()) {
    return std::move(table).error();
  }
  if (p["Tags"].empty()) {
    return validation_error("Atleast one Tag needs to be provided as Input.");
  }
  auto changed = e.change(*table.value(), [&](TableDef& d) -> std::optional<ServiceError> {
    for (const Json& t : p["Tags"]) {
      d.tags[t.value("Key", "")] = t.value("Value", "");
    }
    if (d.tags.size() > kMaxTags) {
      return validation_error("The number of tags exceeds the limit of 50");
    }
    return std::nullopt;
  });
  if (!changed.ok()) {
    return std::move(changed).error();
  }
  return protocol::OperationOutput(Json::object());
}

Output untag_resource(Engine& e, const RequestContext& ctx, Json& p) {
  auto table = table_of_arn(e, ctx, p.value("ResourceArn", ""));
  if (!table.ok()) {
    return std::move(table).error();
  }
  if (p["TagKeys"].empty()) {
    return validation_error("Atleast one Tag Key needs to be provided as Input.");
  }
  auto changed = e.change(*table.value(), [&](TableDef& d) -> std::optional<ServiceError> {
    for (const Json& k : p["TagKeys"]) {
      d.tags.erase(k.get<std::string>());
    }
    return std::nullopt;
  });
  if (!changed.ok()) {
    return std::move(changed).error();
  }
  return protocol::OperationOutput(Json::object());
}

Output list_tags_of_resource(Engine& e, const RequestContext& ctx, Json& p) {
  auto table = table_of_arn(e, ctx, p.value("ResourceArn", ""));
  if (!table.ok()) {
    return std::move(table).error();
  }
  const std::shared_ptr<const TableDef> def = table.value()->def();
  Json tags = Json::array();
  const std::string after = p.value("NextToken", "");
  for (auto it = def->tags.begin(); it != def->tags.end(); ++it) {
    if (!after.empty() && it.key() <= after) {
      continue;
    }
    tags.push_back(Json{{"Key", it.key()}, {"Value", it.value()}});
  }
  return protocol::OperationOutput(Json{{"Tags", std::move(tags)}});
}

Output describe_endpoints(Engine&, const RequestContext& ctx, Json&) {
  std::string address = ctx.endpoint;
  if (address.rfind("http://", 0) == 0) {
    address = address.substr(7);
  }
  return protocol::OperationOutput(
      Json{{"Endpoints", Json::array({Json{{"Address", address}, {"CachePeriodInMinutes", 1440}}})}});
}

Output describe_limits(Engine&, const RequestContext&, Json&) {
  // DynamoDB's default quotas per account and region.
  return protocol::OperationOutput(Json{{"AccountMaxReadCapacityUnits", 80000},
                                        {"AccountMaxWriteCapacityUnits", 80000},
                                        {"TableMaxReadCapacityUnits", 40000},
                                        {"TableMaxWriteCapacityUnits", 40000}});
}

}  // namespace sless::services::dynamodb::ops
