// The DynamoDB expression language: condition (and filter and key condition), update and
// projection expressions. Parsing resolves #names and :values against the request's maps (a
// Binder), records which were used, and reports DynamoDB's messages; the result is a small
// tree evaluated against items. Trees point into the request's ExpressionAttributeValues, so
// they live no longer than the request. Pure functions; any thread.
//
//   "#s = :v AND size(tags) > :n"  ──parse_condition──▶ Condition{and, [compare(=), compare(>)]}
//   Condition + item                ──evaluate───────▶ true / false
//   "SET a = a + :one REMOVE b[2]"  ──parse_update─────▶ Update{actions}  ──apply_update──▶ new item
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "services/dynamodb/value.h"

namespace sless::services::dynamodb::expr {

// One step of a document path: an attribute or map key, or a list index.
struct PathElement {
  std::string name;
  int64_t index = -1;  // >= 0 for a list index
  bool is_index() const { return index >= 0; }
  bool operator==(const PathElement& o) const { return index == o.index && name == o.name; }
};
using Path = std::vector<PathElement>;

// "[a, b, [2]]": how DynamoDB prints a path in its messages.
std::string path_to_string(const Path& p);

enum class OperandKind { kPath, kValue, kSize, kIfNotExists, kListAppend, kPlus, kMinus };

struct Operand {
  OperandKind kind = OperandKind::kValue;
  Path path;                          // kPath
  const Json* value = nullptr;        // kValue: an attribute value
  std::shared_ptr<const Json> owned;  // keeps `value` alive when it is not the request's
  std::vector<Operand> args;          // functions and arithmetic

  static Operand of_path(Path p);
  static Operand of_value(const Json* v);
  static Operand of_owned(Json v);
};

enum class CondKind {
  kCompare, kBetween, kIn, kAnd, kOr, kNot, kExists, kNotExists, kType, kBeginsWith, kContains, kTrue
};
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };
std::string_view compare_op_text(CompareOp op);

struct Condition {
  CondKind kind = CondKind::kTrue;
  CompareOp op = CompareOp::kEq;
  std::vector<Operand> operands;     // compare: 2, between: 3, in: 1 + n, functions: their arguments
  std::vector<Condition> children;   // and / or: 2, not: 1
};

enum class ActionKind { kSet, kRemove, kAdd, kDelete };
struct UpdateAction {
  ActionKind kind = ActionKind::kSet;
  Path path;
  Operand value;  // SET: the value expression; ADD / DELETE: the value; REMOVE: unused
};
struct Update {
  std::vector<UpdateAction> actions;
};

// Resolves placeholders for one request and tracks which were used. `names` and `values` are
// the request's ExpressionAttributeNames / ExpressionAttributeValues (null when absent).
class Binder {
 public:
  Binder(const Json* names, const Json* values) : names_(names), values_(values) {}

  const Json* names() const { return names_; }
  const Json* values() const { return values_; }
  // nullptr when undefined; marks the placeholder used.
  const std::string* name(std::string_view placeholder);
  const Json* value(std::string_view placeholder);
  // DynamoDB's message for a placeholder that was defined but never used, else nullopt.
  std::optional<std::string> unused() const;

 private:
  const Json* names_;
  const Json* values_;
  std::set<std::string, std::less<>> used_names_;
  std::set<std::string, std::less<>> used_values_;
};

// The outcome of a parse: a tree, or DynamoDB's message without the "Invalid XExpression: "
// prefix (the caller knows which parameter it parsed).
template <class T>
using Parsed = std::variant<T, std::string>;

Parsed<Condition> parse_condition(std::string_view text, Binder& binder);
Parsed<Update> parse_update(std::string_view text, Binder& binder);
Parsed<std::vector<Path>> parse_projection(std::string_view text, Binder& binder);

// Whether the word is one of DynamoDB's reserved words (case-insensitive).
bool is_reserved_word(std::string_view word);

// Evaluates a condition against an item (an object of attribute values; empty when the item
// does not exist).
bool evaluate(const Condition& c, const Json& item);

// The value a path designates in an item, or nullptr.
const Json* resolve_path(const Json& item, const Path& path);

// Applies an update to `item` in place. On a runtime error (wrong operand types, invalid
// document path) returns DynamoDB's message and leaves item unspecified.
std::optional<std::string> apply_update(const Update& update, Json& item);

// Copies the attributes the paths designate into a new item (nested paths keep their shape;
// list elements keep their order, without gaps).
Json project(const Json& item, const std::vector<Path>& paths);

// The attributes named by top-level path heads (for key-attribute checks).
std::set<std::string> path_heads(const Update& update);

}  // namespace sless::services::dynamodb::expr
