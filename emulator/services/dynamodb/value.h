// DynamoDB attribute values as they travel in the params tree ({"S": "x"}, {"N": "1.5"}, ...):
// validation with DynamoDB's messages, canonical numbers, sizes, equality, ordering and the
// order-preserving key encoding. Pure functions on values the caller owns; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sless::services::dynamodb {

using Json = nlohmann::json;

enum class Type : uint8_t { kS, kN, kB, kSS, kNS, kBS, kM, kL, kNull, kBool, kInvalid };

// The type of an attribute value, kInvalid unless it is an object with exactly one known member.
Type type_of(const Json& av);
// "S", "N", ..., "NULL", "BOOL".
std::string_view type_name(Type t);
// The type named "S", "N", ... ; kInvalid for anything else.
Type type_from_name(std::string_view name);
// The payload of a one-member attribute value ({"S": "x"} -> "x"). Precondition: type_of != kInvalid.
inline const Json& payload(const Json& av) { return av.begin().value(); }
inline Json& payload(Json& av) { return av.begin().value(); }
inline bool is_scalar_key_type(Type t) { return t == Type::kS || t == Type::kN || t == Type::kB; }

// Deepest nesting of M and L that DynamoDB accepts.
inline constexpr int kMaxDepth = 32;
// Largest item, in DynamoDB's size units.
inline constexpr size_t kMaxItemBytes = 400 * 1024;

// Validates a value from a request (exactly one type, numbers parse, sets non-empty without
// duplicates, NULL true, nesting) and rewrites it to canonical form in place: numbers in
// DynamoDB's canonical text, binaries in padded standard base64. Adds the value's size to
// *size when not null. Returns DynamoDB's ValidationException message on failure.
std::optional<std::string> normalize_value(Json& av, size_t* size = nullptr, int depth = 0);
// Every attribute of an item (an object of attribute values); *size receives the item size.
std::optional<std::string> normalize_item(Json& item, size_t* size = nullptr);

// DynamoDB's size of a value (already normalized) and of an item (names included).
size_t value_size(const Json& av);
size_t item_size(const Json& item);
size_t number_size(std::string_view canonical);

// Deep equality of normalized values: numbers by value, sets regardless of order.
bool values_equal(const Json& a, const Json& b);
// Orders two scalar values of one type (S by UTF-8 bytes, N numerically, B by bytes).
// nullopt when they are not both S, both N or both B.
std::optional<int> compare_values(const Json& a, const Json& b);

// Appends the order-preserving encoding of a key value (S, N or B payload) to out. False when
// the payload is not of type t.
bool append_key(std::string& out, Type t, const Json& payload);

// Decodes a normalized B payload (base64 text) to bytes ("" when malformed).
std::string decode_binary(const Json& payload);

// Writes JSON that never throws on bad UTF-8 (replaced), no spaces.
std::string dump(const Json& j);
void dump_to(std::string& out, const Json& j);

}  // namespace sless::services::dynamodb
