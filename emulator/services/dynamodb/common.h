// Helpers shared by the DynamoDB operations (not an API of the service): DynamoDB's errors,
// key and item validation, the expression parameters of a request (expression or legacy form),
// consumed capacity, and raw JSON response building. Pure functions; any thread.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/service_error.h"
#include "services/dynamodb/expression.h"
#include "services/dynamodb/table.h"

namespace sless::services::dynamodb {

// How DynamoDB begins the messages of its ValidationExceptions about parameter values.
inline const std::string kInvalid = "One or more parameter values were invalid: ";

ServiceError validation_error(std::string message);
// Item operations on a missing table.
ServiceError table_not_found();
// ConditionalCheckFailedException, with the item when the caller asked for it.
ServiceError conditional_check_failed(std::string_view item_json);

// Validates a Key parameter against a key schema and canonicalizes its values.
std::optional<ServiceError> check_key(const KeySchema& schema, Json& key);
// Validates an Item (values, key attributes, index keys, size); *size gets the item size.
std::optional<ServiceError> check_item(const TableDef& def, Json& item, size_t* size);
// The index key attributes of an item written by an update (types, empty values).
std::optional<ServiceError> check_index_keys(const TableDef& def, const Json& item);
// The key attributes of an item (a copy).
Json key_of(const KeySchema& schema, const Json& item);
// The key attributes of the table and of `index` (for LastEvaluatedKey).
Json start_key_of(const TableDef& def, const IndexDef* index, const Json& item);

// The expressions of one request, from the expression parameters or their legacy forms.
struct Expressions {
  explicit Expressions(const Json& params);
  Expressions(const Expressions&) = delete;
  Expressions& operator=(const Expressions&) = delete;
  Expressions(Expressions&&) = default;

  expr::Binder binder;
  std::optional<expr::Condition> condition;      // ConditionExpression / Expected
  std::optional<expr::Condition> filter;         // FilterExpression / QueryFilter / ScanFilter
  std::optional<expr::Condition> key_condition;  // KeyConditionExpression / KeyConditions
  std::optional<expr::Update> update;            // UpdateExpression / AttributeUpdates
  std::optional<std::vector<expr::Path>> projection;  // ProjectionExpression / AttributesToGet
  std::set<std::string> filter_heads;            // attributes a filter reads at top level
  bool legacy_update = false;
};

enum ExprKinds : unsigned {
  kCondition = 1,
  kUpdate = 2,
  kProjection = 4,
  kFilter = 8,
  kKeyCondition = 16,
};

// Parses the expression members `kinds` allows (and their legacy forms; `filter_legacy` names
// QueryFilter or ScanFilter), with DynamoDB's checks and messages, in DynamoDB's order.
// ExpressionAttributeValues are validated and canonicalized in place.
std::optional<ServiceError> parse_expressions(Json& params, unsigned kinds, Expressions& out,
                                              const char* filter_legacy = nullptr);

// Legacy forms (legacy.cpp).
std::optional<ServiceError> legacy_condition(const Json& conditions, const std::string& op, bool expected_form,
                                             expr::Condition& out, std::set<std::string>* heads = nullptr);
std::optional<ServiceError> legacy_update(const Json& updates, expr::Update& out);

// Consumed capacity: units of a read or write of `bytes`, and the ConsumedCapacity member.
double read_units(size_t bytes, bool consistent);
double write_units(size_t bytes);
// Appends `,"ConsumedCapacity":{...}` when the request asked for it.
void append_capacity(std::string& out, const Json& params, const std::string& table, double units, bool write);
Json capacity_json(const std::string& mode, const std::string& table, double units, bool write);

// The key of a JSON string member ("," + "\"name\":"), for raw response building.
void append_member(std::string& out, std::string_view name, bool& first);

}  // namespace sless::services::dynamodb
