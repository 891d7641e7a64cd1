// SNS subscription filter policies: validation and matching, for both scopes (message
// attributes and message body). Pure functions over JSON trees; any thread.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace sless::services::sns {

// Checks a policy's shape and operators; returns the reason it is invalid, or nothing.
// `body_scope` allows nested objects (MessageBody scope).
std::optional<std::string> validate_filter_policy(const nlohmann::json& policy, bool body_scope);

// Turns Publish's MessageAttributes (params tree: {"k": {"DataType", "StringValue"|"BinaryValue"}})
// into the document a MessageAttributes-scope policy is matched against: strings stay strings,
// Number values become numbers, String.Array values become arrays; Binary ones are left out.
nlohmann::json attributes_document(const nlohmann::json& message_attributes);

// Whether `document` (a JSON object) satisfies `policy`: every key's condition list holds
// (a list matches when any condition does), `$or` takes any branch, nested objects descend.
bool matches(const nlohmann::json& policy, const nlohmann::json& document);

}  // namespace sless::services::sns
