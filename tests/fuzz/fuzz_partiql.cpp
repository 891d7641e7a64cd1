// fuzz_partiql: DynamoDB's PartiQL, from the parser to the three operations that run it. An input is
//
//   <mode byte> STATEMENT \n [PARAMETERS as a JSON array of attribute values]
//
// Modes (mode % 4):
//   0  partiql::parse_statement on its own;
//   1  ExecuteStatement, 2  BatchExecuteStatement (the statement twice), 3  ExecuteTransaction, on the
//      in-memory table `fuzz` of dynamodb_fixture.h (pk S, sk N, a GSI by_g on g, two items).
// Invariants: nothing throws; a parse error is a message; a parsed statement names its table and
// has what its kind needs; an operation answers valid JSON or one of the errors DynamoDB gives for
// PartiQL, with a message; a batch answers one response per statement; whatever a statement wrote
// reads back as items DynamoDB could store. After each write the table is put back as it was.
#include <string>
#include <string_view>

#include "dynamodb_fixture.h"
#include "services/dynamodb/partiql.h"

namespace {

using namespace sless;
using namespace sless::fuzz::dynamodb;
namespace expr = sless::services::dynamodb::expr;
namespace partiql = sless::services::dynamodb::partiql;

Fixture& fixture() {
  static Fixture f;
  return f;
}

bool partiql_error(const std::string& code) {
  static const char* const kCodes[] = {"ValidationException",
                                       "ConditionalCheckFailedException",
                                       "DuplicateItemException",
                                       "ResourceNotFoundException",
                                       "TransactionCanceledException",
                                       "TransactionConflictException",
                                       "ItemCollectionSizeLimitExceededException"};
  for (const char* c : kCodes) {
    if (code == c) return true;
  }
  return false;
}

// The operation's answer: JSON, or a PartiQL error with a message. Returns the result tree.
Json checked(const ops::Output& out) {
  if (!out.ok()) {
    FUZZ_CHECK(partiql_error(out.error().code));
    FUZZ_CHECK(!out.error().message.empty());
    return Json();
  }
  if (out.value().raw_payload) {
    FUZZ_CHECK(Json::accept(*out.value().raw_payload));
    return Json::parse(*out.value().raw_payload);
  }
  FUZZ_CHECK(out.value().result.is_object());
  return out.value().result;
}

void check_parsed(const partiql::Statement& st) {
  using Kind = partiql::Statement::Kind;
  FUZZ_CHECK(!st.table.empty());
  switch (st.kind) {
    case Kind::kInsert:
      FUZZ_CHECK(st.item.is_object());
      break;
    case Kind::kUpdate:
      FUZZ_CHECK(!st.actions.empty());
      FUZZ_CHECK(st.where.has_value());
      break;
    case Kind::kDelete:
      FUZZ_CHECK(st.where.has_value());
      break;
    case Kind::kSelect:
      FUZZ_CHECK(st.select_all || !st.projection.empty());
      for (const auto& p : st.projection) (void)expr::path_to_string(p);
      break;
    case Kind::kExists:
      break;
  }
  if (!st.returning.empty()) {
    FUZZ_CHECK(st.returning == "ALL_OLD" || st.returning == "UPDATED_OLD" || st.returning == "ALL_NEW" ||
               st.returning == "UPDATED_NEW");
  }
}

// Every item in the table is one DynamoDB could store; then the table holds the fixture's two
// items again and nothing else.
void check_and_restore(Fixture& f) {
  Json scan = {{"TableName", "fuzz"}};
  Json result = checked(ops::scan(f.engine, f.ctx, scan));
  FUZZ_CHECK(result.is_object() && result["Items"].is_array());
  for (const Json& item : result["Items"]) {
    Json copy = item;
    auto invalid = ddb::normalize_item(copy);
    FUZZ_CHECK(!invalid || invalid->find("Nesting") != std::string::npos);
    FUZZ_CHECK(copy.contains("pk") && copy.contains("sk"));
    Json key = {{"pk", copy["pk"]}, {"sk", copy["sk"]}};
    Json del = {{"TableName", "fuzz"}, {"Key", key}};
    FUZZ_CHECK(ops::delete_item(f.engine, f.ctx, del).ok());
  }
  f.put_items();
}

}  // namespace

SLESS_FUZZ_TARGET(partiql) {
  Fixture& f = fixture();
  sless::fuzz::Input in(data, size);
  uint8_t mode = in.byte();
  std::string statement(in.until('\n'));
  std::string_view params_text = in.rest();

  Json params;  // null: no Parameters member
  if (!params_text.empty()) {
    Json parsed = Json::parse(params_text, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_array()) params = std::move(parsed);
  }
  auto with_params = [&](Json request) {
    if (!params.is_null()) request["Parameters"] = params;
    return request;
  };
  f.ctx.now_ms = f.clock.now_ms();

  switch (mode % 4) {
    case 0: {
      auto parsed = partiql::parse_statement(statement, params.is_null() ? nullptr : &params);
      if (auto* e = std::get_if<std::string>(&parsed)) {
        FUZZ_CHECK(!e->empty());
      } else {
        check_parsed(std::get<partiql::Statement>(parsed));
      }
      return 0;
    }
    case 1: {
      Json p = with_params({{"Statement", statement}, {"ReturnConsumedCapacity", "TOTAL"}});
      (void)checked(ops::execute_statement(f.engine, f.ctx, p));
      break;
    }
    case 2: {
      Json p = {{"Statements", Json::array({with_params({{"Statement", statement}}),
                                            with_params({{"Statement", statement}})})}};
      Json result = checked(ops::batch_execute_statement(f.engine, f.ctx, p));
      if (result.is_object()) {
        FUZZ_CHECK(result["Responses"].is_array() && result["Responses"].size() == 2);
      }
      break;
    }
    default: {
      Json p = {{"TransactStatements", Json::array({with_params({{"Statement", statement}})})}};
      (void)checked(ops::execute_transaction(f.engine, f.ctx, p));
      break;
    }
  }
  check_and_restore(f);
  return 0;
}
