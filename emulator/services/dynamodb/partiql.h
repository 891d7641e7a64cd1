// PartiQL for DynamoDB: the statement tree and its parser (tokenizer + recursive descent over
// SELECT / INSERT / UPDATE / DELETE / EXISTS), with DynamoDB's messages. `?` parameters are
// bound while parsing, so the tree holds attribute values only. The executor (partiql.cpp)
// turns trees into the item operations' parameters. Pure functions; any thread.
//
//   "UPDATE \"t\" SET a = a + ? WHERE pk = 'k'"  ──parse_statement──▶ Statement{kUpdate, actions, where}
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "services/dynamodb/expression.h"
#include "services/dynamodb/value.h"

namespace sless::services::dynamodb::partiql {

// A value-producing term: a path, an attribute value, or a function / arithmetic of terms.
struct Operand {
  enum class Kind { kPath, kValue, kSize, kAdd, kSub, kListAppend, kSetAdd, kSetDelete };
  Kind kind = Kind::kValue;
  expr::Path path;            // kPath
  Json value;                 // kValue: an attribute value ({"S": "x"})
  std::vector<Operand> args;  // functions and arithmetic
};

// A WHERE condition.
struct Cond {
  enum class Kind {
    kAnd, kOr, kNot, kCompare, kBetween, kIn, kMissing, kNotMissing, kNull, kNotNull,
    kBeginsWith, kContains, kAttributeType, kAttributeExists, kAttributeNotExists
  };
  Kind kind = Kind::kCompare;
  expr::CompareOp op = expr::CompareOp::kEq;
  std::vector<Operand> operands;  // compare: 2, between: 3, in: 1 + n, functions: their arguments
  std::vector<Cond> children;     // and / or: 2, not: 1
};

struct UpdateAction {
  bool remove = false;
  expr::Path path;
  Operand value;  // SET only
};

struct Statement {
  enum class Kind { kSelect, kInsert, kUpdate, kDelete, kExists };
  Kind kind = Kind::kSelect;
  std::string table;
  std::string index;  // SELECT FROM "table"."index"

  // SELECT
  bool select_all = false;
  std::vector<expr::Path> projection;
  struct Order {
    expr::Path path;
    bool descending = false;
  };
  std::vector<Order> order_by;

  std::optional<Cond> where;  // SELECT, UPDATE, DELETE, EXISTS (its inner SELECT's)
  Json item;                  // INSERT: an object of attribute values
  std::vector<UpdateAction> actions;  // UPDATE

  // RETURNING: "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW" (empty when absent), and
  // the clause as written for messages ("RETURNING MODIFIED OLD *").
  std::string returning;
  std::string returning_text;

  bool is_read() const { return kind == Kind::kSelect; }
};

// The parse outcome: a statement, or DynamoDB's ValidationException message.
using Parsed = std::variant<Statement, std::string>;

// Parses one statement; `parameters` is the request's Parameters list (or null). Values are
// validated and canonicalized (numbers, sets) with DynamoDB's messages.
Parsed parse_statement(std::string_view text, const Json* parameters);

inline constexpr std::string_view kMalformed = "Statement wasn't well formed, can't be processed: ";

}  // namespace sless::services::dynamodb::partiql
