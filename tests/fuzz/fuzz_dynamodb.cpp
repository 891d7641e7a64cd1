// fuzz_dynamodb: the DynamoDB expression language, from the parsers to the operations. An input is
//
//   <mode byte> EXPRESSION \n [SECOND EXPRESSION] \n [EXPRESSION ATTRIBUTE VALUES as JSON]
//
// The names map is fixed (#a, #pk, #m, ...); the values map is the input's third line when it
// parses as a JSON object, else a fixed map of every type (:s, :n, :l, :m, :ss, ...). Modes:
//   0-2  expr::parse_condition / parse_update / parse_projection on their own, then evaluate(),
//        apply_update() and project() against a small item of every type (and an empty item);
//   3    parse_expressions() on a params tree holding the expression members the high bits pick;
//   4-7  the operations on an in-memory table (pk S, sk N, a GSI on g): Query (key condition +
//        filter), UpdateItem (update + condition, on a freshly put item), Scan (filter +
//        projection), DeleteItem (condition, then the item is put back).
// Invariants: nothing throws; parse errors are messages; evaluation of whatever parsed never
// fails; what an update produces is a valid item; an operation answers valid JSON or one of
// ValidationException / ConditionalCheckFailedException with a message.
#include <string>

#include "dynamodb_fixture.h"
#include "services/dynamodb/expression.h"

namespace {

using namespace sless;
using namespace sless::fuzz::dynamodb;
namespace expr = sless::services::dynamodb::expr;

// Each translation unit's own fixture (dynamodb_fixture.h).
Fixture& fixture() {
  static Fixture f;
  return f;
}

void check_condition(const expr::Condition& c, const Fixture& f) {
  (void)expr::evaluate(c, f.item);
  (void)expr::evaluate(c, Json::object());
}

void fuzz_direct(int mode, std::string_view text, const Json* values, Fixture& f) {
  expr::Binder binder(&f.names, values);
  if (mode == 0) {
    auto parsed = expr::parse_condition(text, binder);
    if (auto* e = std::get_if<std::string>(&parsed)) {
      FUZZ_CHECK(!e->empty());
      return;
    }
    check_condition(std::get<expr::Condition>(parsed), f);
  } else if (mode == 1) {
    auto parsed = expr::parse_update(text, binder);
    if (auto* e = std::get_if<std::string>(&parsed)) {
      FUZZ_CHECK(!e->empty());
      return;
    }
    const auto& update = std::get<expr::Update>(parsed);
    (void)expr::path_heads(update);
    for (const Json* start : {static_cast<const Json*>(&f.item), static_cast<const Json*>(nullptr)}) {
      Json item = start ? *start : Json::object();
      if (auto err = expr::apply_update(update, item)) {
        FUZZ_CHECK(!err->empty());
        continue;
      }
      // What an update writes is an item DynamoDB could store (values of one type, canonical
      // numbers, no empty sets).
      Json copy = item;
      FUZZ_CHECK(copy.is_object());
      auto invalid = ddb::normalize_item(copy);
      FUZZ_CHECK(!invalid || invalid->find("Nesting") != std::string::npos);
      (void)ddb::item_size(item);
    }
  } else {
    auto parsed = expr::parse_projection(text, binder);
    if (auto* e = std::get_if<std::string>(&parsed)) {
      FUZZ_CHECK(!e->empty());
      return;
    }
    const auto& paths = std::get<std::vector<expr::Path>>(parsed);
    FUZZ_CHECK(!paths.empty());
    for (const auto& p : paths) (void)expr::path_to_string(p);
    FUZZ_CHECK(expr::project(f.item, paths).is_object());
  }
  (void)binder.unused();
}

void fuzz_parse_expressions(uint8_t mode, std::string_view first, std::string_view second, const Json& values,
                            Fixture& f) {
  static const char* const kMembers[] = {"UpdateExpression", "ConditionExpression", "KeyConditionExpression",
                                         "FilterExpression", "ProjectionExpression"};
  Json params = {{"ExpressionAttributeNames", f.names}, {"ExpressionAttributeValues", values}};
  unsigned kinds = (mode >> 3) & 31u;
  if (kinds == 0) kinds = ddb::kCondition;
  const char* a = kMembers[(mode >> 3) % 5];
  const char* b = kMembers[(mode >> 5) % 5];
  params[a] = std::string(first);
  if (!second.empty() && b != a) params[b] = std::string(second);
  ddb::Expressions out(params);
  if (auto err = ddb::parse_expressions(params, kinds, out, "QueryFilter")) {
    FUZZ_CHECK(err->code == "ValidationException");
    FUZZ_CHECK(!err->message.empty());
    return;
  }
  for (const auto* c : {&out.condition, &out.filter, &out.key_condition}) {
    if (*c) check_condition(**c, f);
  }
  if (out.update) {
    Json item = f.item;
    (void)expr::apply_update(*out.update, item);
  }
  if (out.projection) (void)expr::project(f.item, *out.projection);
}

void fuzz_operation(int mode, std::string_view first, std::string_view second, const Json& values, Fixture& f) {
  Json p = {{"TableName", "fuzz"}, {"ExpressionAttributeNames", f.names}, {"ExpressionAttributeValues", values}};
  auto set = [&](const char* member, std::string_view text) {
    if (!text.empty()) p[member] = std::string(text);
  };
  f.ctx.now_ms = f.clock.now_ms();
  switch (mode) {
    case 4:
      p["KeyConditionExpression"] = std::string(first);
      set("FilterExpression", second);
      if (second.size() % 2 == 1) p["IndexName"] = "by_g";
      check_output(ops::query(f.engine, f.ctx, p));
      break;
    case 5: {
      p["Key"] = Json{{"pk", {{"S", "p"}}}, {"sk", {{"N", "1"}}}};
      p["UpdateExpression"] = std::string(first);
      set("ConditionExpression", second);
      p["ReturnValues"] = "ALL_NEW";
      check_output(ops::update_item(f.engine, f.ctx, p));
      // What the update stored reads back as a valid item.
      Json get = {{"TableName", "fuzz"}, {"Key", {{"pk", {{"S", "p"}}}, {"sk", {{"N", "1"}}}}}};
      auto read = ops::get_item(f.engine, f.ctx, get);
      FUZZ_CHECK(read.ok());
      f.put_item();
      break;
    }
    case 6:
      p["FilterExpression"] = std::string(first);
      set("ProjectionExpression", second);
      check_output(ops::scan(f.engine, f.ctx, p));
      break;
    default:
      p["Key"] = Json{{"pk", {{"S", "p"}}}, {"sk", {{"N", "1"}}}};
      p["ConditionExpression"] = std::string(first);
      p["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD";
      check_output(ops::delete_item(f.engine, f.ctx, p));
      f.put_item();
      break;
  }
}

}  // namespace

SLESS_FUZZ_TARGET(dynamodb) {
  Fixture& f = fixture();
  fuzz::Input in(data, size);
  uint8_t mode = in.byte();
  std::string_view first = in.until('\n');
  std::string_view second = in.until('\n');
  std::string_view values_text = in.rest();

  Json values = f.values;
  if (!values_text.empty()) {
    Json parsed = Json::parse(values_text, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) values = std::move(parsed);
  }
  switch (mode % 8) {
    case 0:
    case 1:
    case 2:
      // The direct parsers take values as parse_expressions leaves them: valid and canonical.
      if (ddb::normalize_item(values)) values = f.values;
      fuzz_direct(mode % 8, first, values.empty() ? nullptr : &values, f);
      break;
    case 3: fuzz_parse_expressions(mode, first, second, values, f); break;
    default: fuzz_operation(mode % 8, first, second, values, f); break;
  }
  return 0;
}
