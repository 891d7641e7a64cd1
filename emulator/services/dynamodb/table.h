// A DynamoDB table's definition (key schema, indexes, billing, stream, TTL, tags) as an
// immutable value: built from CreateTable, changed by copy-and-swap, persisted as JSON meta and
// rendered as DescribeTable's TableDescription. Plain values; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/service_error.h"
#include "services/dynamodb/value.h"

namespace sless::services::dynamodb {

struct KeyAttr {
  std::string name;
  Type type = Type::kS;  // S, N or B
};

struct KeySchema {
  KeyAttr hash;
  std::optional<KeyAttr> range;
  Json to_json() const;  // [{"AttributeName", "KeyType"}]
};

enum class ProjectionType { kAll, kKeysOnly, kInclude };

struct IndexDef {
  std::string name;
  bool global = true;
  uint32_t id = 0;  // unique within the table, never reused; 0 is the table itself
  KeySchema key;
  ProjectionType projection = ProjectionType::kAll;
  std::vector<std::string> non_key_attributes;
  bool creating = false;  // a GSI being backfilled
  int64_t rcu = 0;
  int64_t wcu = 0;
  Json to_meta() const;
  static std::optional<IndexDef> from_meta(const Json& j);
};

struct TableDef {
  std::string account;
  std::string region;
  std::string name;
  uint64_t id = 0;           // keys of this table's items; a new table of the same name gets another
  std::string table_id;      // the TableId uuid
  int64_t created_ms = 0;
  KeySchema key;
  Json attribute_definitions = Json::array();
  std::vector<IndexDef> indexes;
  uint32_t next_index_id = 1;
  bool on_demand = false;    // BillingMode PAY_PER_REQUEST
  int64_t rcu = 0;
  int64_t wcu = 0;
  int64_t billing_changed_ms = 0;
  int64_t throughput_increased_ms = 0;
  int64_t throughput_decreased_ms = 0;
  // The latest stream (kept when disabled, as DescribeTable shows LatestStreamArn).
  bool stream_enabled = false;
  std::string stream_view_type;
  uint64_t stream_id = 0;
  std::string stream_label;
  bool ttl_enabled = false;
  std::string ttl_attribute;
  Json tags = Json::object();
  bool sse_enabled = false;
  std::string sse_kms_key;
  bool deletion_protection = false;
  std::string table_class = "STANDARD";

  std::string arn() const;
  std::string stream_arn() const;  // empty without a stream
  const IndexDef* find_index(std::string_view index_name) const;

  Json to_meta() const;
  static std::optional<TableDef> from_meta(const Json& j);
};

// Builds a definition from CreateTable's params, with DynamoDB's validation messages.
Outcome<TableDef> table_from_create(const Json& params, const std::string& account, const std::string& region,
                                    int64_t now_ms);
// Parses a GlobalSecondaryIndexUpdates Create action against a table (new attribute
// definitions are merged into `def`).
Outcome<IndexDef> index_from_create(const Json& create, TableDef& def, const Json& attribute_definitions);

struct TableCounts {
  int64_t items = 0;
  int64_t bytes = 0;
};

// DescribeTable's TableDescription. `counts(index_id)` gives live counts (0 = the table).
Json describe_table(const TableDef& def, const std::string& status,
                    const std::function<TableCounts(uint32_t)>& counts);

// The item's attributes an index stores for `projection` (keys of the table and the index
// always), or nullopt when the item lacks the index's key attributes (a sparse index).
std::optional<Json> index_projection(const TableDef& def, const IndexDef& index, const Json& item);

// Resolves a TableName parameter that may be a table ARN; empty when the ARN is malformed.
std::string table_name_param(const Json& params, const char* member = "TableName");

}  // namespace sless::services::dynamodb
