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
#include <memory>
#include <string>

#include "core/clock.h"
#include "fuzz_target.h"
#include "services/dynamodb/common.h"
#include "services/dynamodb/expression.h"
#include "services/dynamodb/ops.h"
#include "storage/store.h"

namespace {

using namespace sless;
namespace ddb = sless::services::dynamodb;
namespace expr = sless::services::dynamodb::expr;
namespace ops = sless::services::dynamodb::ops;
using ddb::Json;

const char* const kNames = R"({"#a":"a","#b":"b","#pk":"pk","#sk":"sk","#l":"l","#m":"m","#ss":"ss","#g":"g",
  "#dot":"a.b","#k":"k"})";
const char* const kValues = R"({":s":{"S":"x"},":p":{"S":"p"},":e":{"S":""},":n":{"N":"1"},":n2":{"N":"-2.5E3"},
  ":big":{"N":"9.9999999999999999999999999999999999999E+125"},":l":{"L":[{"N":"1"},{"S":"two"}]},
  ":m":{"M":{"k":{"S":"v"}}},":ss":{"SS":["a","b"]},":ns":{"NS":["1","2"]},":bs":{"BS":["AQI="]},
  ":b":{"B":"AQI="},":t":{"BOOL":true},":null":{"NULL":true}})";
const char* const kItem = R"({"pk":{"S":"p"},"sk":{"N":"1"},"a":{"S":"x"},"b":{"N":"2"},
  "l":{"L":[{"N":"1"},{"S":"two"},{"M":{"c":{"BOOL":true}}},{"L":[{"NULL":true}]}]},
  "m":{"M":{"k":{"S":"v"},"n":{"N":"3"},"inner":{"M":{"z":{"NULL":true}}}}},"ss":{"SS":["a","b"]},
  "ns":{"NS":["1","2"]},"bs":{"BS":["AQI="]},"g":{"S":"gk"},"t":{"BOOL":false},"a.b":{"S":"dotted"}})";

struct Fixture {
  Json names = Json::parse(kNames);
  Json values = Json::parse(kValues);
  Json item = Json::parse(kItem);
  std::unique_ptr<storage::Store> store;
  ManualClock clock{1700000000000};
  ddb::Engine engine;
  services::RequestContext ctx;

  Fixture() {
    FUZZ_CHECK(!ddb::normalize_item(values));
    FUZZ_CHECK(!ddb::normalize_item(item));
    storage::Options o;
    o.in_memory = true;
    auto s = storage::Store::open(o);
    FUZZ_CHECK(s.ok());
    store = std::move(s).value();
    FUZZ_CHECK(engine.start(store.get(), nullptr, &clock).is_ok());
    ctx.account = "123456789012";
    ctx.region = "us-east-1";
    ctx.now_ms = clock.now_ms();
    Json create = Json::parse(R"({"TableName":"fuzz","BillingMode":"PAY_PER_REQUEST",
        "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
        "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},
                                {"AttributeName":"g","AttributeType":"S"}],
        "GlobalSecondaryIndexes":[{"IndexName":"by_g","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],
                                   "Projection":{"ProjectionType":"ALL"}}]})");
    auto created = ops::create_table(engine, ctx, create);
    if (!created.ok()) std::fprintf(stderr, "fuzz_dynamodb: CreateTable: %s\n", created.error().message.c_str());
    FUZZ_CHECK(created.ok());
    put_item();
    Json second = item;
    second["sk"] = Json{{"N", "2"}};
    second["a"] = Json{{"S", "y"}};
    Json put = {{"TableName", "fuzz"}, {"Item", second}};
    FUZZ_CHECK(ops::put_item(engine, ctx, put).ok());
  }

  void put_item() {
    Json put = {{"TableName", "fuzz"}, {"Item", item}};
    FUZZ_CHECK(ops::put_item(engine, ctx, put).ok());
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// What an operation answers: a JSON body, or one of the errors bad expressions may cause.
void check_output(const ops::Output& out) {
  if (!out.ok()) {
    const auto& e = out.error();
    FUZZ_CHECK(e.code == "ValidationException" || e.code == "ConditionalCheckFailedException");
    FUZZ_CHECK(!e.message.empty());
    return;
  }
  if (out.value().raw_payload) {
    FUZZ_CHECK(Json::accept(*out.value().raw_payload));
  }
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
