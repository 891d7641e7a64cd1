// PartiQL: the parser (shapes, literals, parameters, DynamoDB's messages, and random / mutated
// statements that must answer a tree or a message, never crash) and the statements' semantics
// through the operations over an in-memory engine (INSERT / UPDATE / DELETE / SELECT, paging,
// batches and transactions).
#include <catch2/catch.hpp>

#include <random>

#include "core/clock.h"
#include "services/dynamodb/ops.h"
#include "services/dynamodb/partiql.h"
#include "storage/store.h"

using sless::services::dynamodb::Json;
namespace ddb = sless::services::dynamodb;
namespace ops = sless::services::dynamodb::ops;
namespace pq = sless::services::dynamodb::partiql;

namespace {

pq::Statement parse_ok(const std::string& text, const Json* params = nullptr) {
  auto r = pq::parse_statement(text, params);
  if (auto* msg = std::get_if<std::string>(&r)) {
    FAIL_CHECK(text << " -> " << *msg);
    return {};
  }
  return std::get<pq::Statement>(r);
}

std::string parse_error(const std::string& text, const Json* params = nullptr) {
  auto r = pq::parse_statement(text, params);
  auto* msg = std::get_if<std::string>(&r);
  return msg != nullptr ? *msg : std::string("<parsed>");
}

const std::string kBad = "Statement wasn't well formed, can't be processed: ";

}  // namespace

TEST_CASE("partiql parses the statement forms", "[dynamodb][partiql]") {
  auto s = parse_ok(R"(SELECT a, "b".c[2], m['k'] FROM "T"."idx" WHERE pk = 'x' AND sk > 3 ORDER BY sk DESC)");
  CHECK(s.kind == pq::Statement::Kind::kSelect);
  CHECK(s.table == "T");
  CHECK(s.index == "idx");
  REQUIRE(s.projection.size() == 3);
  CHECK(s.projection[1].size() == 3);
  CHECK(s.projection[1][2].index == 2);
  CHECK(s.projection[2][1].name == "k");
  REQUIRE(s.order_by.size() == 1);
  CHECK(s.order_by[0].descending);
  REQUIRE(s.where);
  CHECK(s.where->kind == pq::Cond::Kind::kAnd);

  s = parse_ok("select * from Music");
  CHECK(s.select_all);
  CHECK_FALSE(s.where);

  s = parse_ok(R"(INSERT INTO "Music" value {'Artist' : 'Acme', 'n': -1.50e1, 'ok': true, 'nul': NULL,
                  'l': [1, 'a'], 'm': {'x': {'y': 2}}, 'ns': <<3, 1>>, 'ss': <<'a','b'>>, 'q': 'it''s'};)");
  CHECK(s.kind == pq::Statement::Kind::kInsert);
  CHECK(s.item["n"] == Json{{"N", "-15"}});
  CHECK(s.item["ok"] == Json{{"BOOL", true}});
  CHECK(s.item["nul"] == Json{{"NULL", true}});
  CHECK(s.item["l"]["L"].size() == 2);
  CHECK(s.item["m"]["M"]["x"]["M"]["y"] == Json{{"N", "2"}});
  CHECK(s.item["ns"].contains("NS"));
  CHECK(s.item["ss"]["SS"].size() == 2);
  CHECK(s.item["q"] == Json{{"S", "it's"}});

  s = parse_ok("UPDATE t SET a = a + 1, b = list_append(b, [2]) REMOVE c[1] SET d = set_add(d, <<'x'>>) "
               "WHERE pk = 'k' RETURNING MODIFIED NEW *");
  CHECK(s.kind == pq::Statement::Kind::kUpdate);
  CHECK(s.actions.size() == 4);
  CHECK(s.actions[2].remove);
  CHECK(s.returning == "UPDATED_NEW");

  s = parse_ok("DELETE FROM t WHERE pk = 'k' AND attribute_exists(x) RETURNING ALL OLD *");
  CHECK(s.kind == pq::Statement::Kind::kDelete);
  CHECK(s.returning == "ALL_OLD");

  s = parse_ok("EXISTS(SELECT * FROM t WHERE pk = 'k' AND x IS MISSING)");
  CHECK(s.kind == pq::Statement::Kind::kExists);

  s = parse_ok("SELECT * FROM t WHERE pk IN ['a', 'b'] OR NOT (x BETWEEN 1 AND 5) AND y IS NOT NULL -- note\n");
  CHECK(s.where->kind == pq::Cond::Kind::kOr);
  s = parse_ok("/* c */ SELECT * FROM t WHERE begins_with(s, 'ab') AND contains(tags, 'x') AND size(s) >= 2 "
               "AND attribute_type(n, 'N') AND x NOT IN (1, 2) AND x <> 3 AND y != 4");
  CHECK(s.where);
}

TEST_CASE("partiql binds parameters", "[dynamodb][partiql]") {
  Json params = Json::parse(R"([{"S":"k"},{"N":"01.50"},{"BS":["AQ=="]}])");
  auto s = parse_ok("UPDATE t SET a = ?, b = ? WHERE pk = ?", &params);
  CHECK(s.actions[0].value.value == Json{{"S", "k"}});
  CHECK(s.actions[1].value.value == Json{{"N", "1.5"}});
  CHECK(parse_error("SELECT * FROM t WHERE a = ? AND b = ? AND c = ? AND d = ?", &params) ==
        "Number of parameters in request and statement don't match.");
  CHECK(parse_error("SELECT * FROM t WHERE a = ?") == "Number of parameters in request and statement don't match.");
  Json bad = Json::parse(R"([{"N":"abc"}])");
  CHECK(parse_error("SELECT * FROM t WHERE a = ?", &bad) != "<parsed>");
  // A ? inside a string is text.
  auto q = parse_ok("SELECT * FROM t WHERE a = '?'");
  CHECK(q.where->operands[1].value == Json{{"S", "?"}});
}

TEST_CASE("partiql reports DynamoDB's syntax errors", "[dynamodb][partiql]") {
  CHECK(parse_error("SLECT * FROM t") == kBad + "Expected data manipulation");
  CHECK(parse_error("") == kBad + "Expected data manipulation");
  CHECK(parse_error("SELECT * FROM t WHERE pk = 1 foo") == kBad + "Unexpected token after expression");
  CHECK(parse_error("SELECT * FROM t WHERE pk = 1)") == kBad + "Unexpected token after expression");
  CHECK(parse_error("DELETE FROM t WHERE pk = 1 ORDER BY pk") == kBad + "Unexpected token after expression");
  CHECK(parse_error("SELECT * FROM t WHERE") == kBad + "Unexpected term");
  CHECK(parse_error("SELECT * FROM t WHERE pk = 'a' AND") == kBad + "Missing right-hand side expression of infix operator");
  CHECK(parse_error("SELECT * FROM t WHERE ORDER BY pk") == kBad + "Unexpected keyword");
  CHECK(parse_error("DELETE FROM") == kBad + "Expected identifier for simple path");
  CHECK(parse_error("SELECT * FROM t x WHERE pk = 'a'") == "Aliasing is not supported");
  CHECK(parse_error("SELECT * FROM t WHERE pk = 'open") == kBad);
  CHECK(parse_error("SELECT * FROM t WHERE pk = 1 /* open") == kBad);
  CHECK(parse_error("SELECT * FROM t WHERE pk = 1 # x") == kBad);
  CHECK(parse_error("SELECT * FROM t WHERE IS NULL") == kBad + "Unexpected operator");
  CHECK(parse_error("SELECT * FROM t WHERE x IS FOO") == kBad + "Expected type name");
  CHECK(parse_error("INSERT INTO t VALUE {'pk': 'a', 's': <<>>}") == "Empty bags are not supported");
  CHECK(parse_error("INSERT INTO t VALUE {'pk': 'a', 's': <<1, 'a'>>}") ==
        "Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags");
  CHECK(parse_error("INSERT INTO t VALUE 'a'") == kBad + "Expected a tuple in VALUE");
  CHECK(parse_error("DELETE FROM t WHERE pk = 'x' RETURNING ALL NEW *") ==
        "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements.");
  CHECK(parse_error("SELECT * FROM t WHERE attribute_type(a, 'X')") ==
        "Invalid attribute type name found; type: X, valid types: {N,BS,L,B,NULL,M,S,SS,NS,BOOL}");
  CHECK(parse_error("SELECT * FROM t LIMIT 1") == "Unsupported clause: LIMIT");
  CHECK(parse_error("INSERT INTO t VALUE {'pk': 1e126}") != "<parsed>");
}

TEST_CASE("partiql parser survives random and mutated statements", "[dynamodb][partiql]") {
  const std::vector<std::string> seeds = {
      R"(SELECT a, b.c[1] FROM "T"."i" WHERE pk = 'x' AND sk BETWEEN 1 AND 2 ORDER BY sk DESC)",
      R"(INSERT INTO "T" VALUE {'pk': 'a', 'l': [1, {'m': <<'s'>>}], 'n': -2e3})",
      R"(UPDATE "T" SET a = a + ? SET l = list_append(l, [1]) REMOVE b WHERE pk = ? RETURNING ALL NEW *)",
      R"(DELETE FROM "T" WHERE pk = 'a' AND (x IS MISSING OR NOT contains(s, 'q')))",
      R"(EXISTS(SELECT * FROM "T" WHERE pk = 'a' AND attribute_type(x, 'S')))"};
  const std::string alphabet = "SELCTWHREINSUPDAFROM*?'\"()[]{}<>=!,.;:-+ 0123456789abcxyz_\n";
  const Json params = Json::parse(R"([{"S":"a"},{"N":"1"},{"S":"b"}])");
  std::mt19937 rng(1234);
  size_t parsed = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < edits && !text.empty(); ++i) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text.erase(at, 1 + rng() % 3); break;
        case 1: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        default: text[at] = alphabet[rng() % alphabet.size()]; break;
      }
    }
    if (round % 5 == 0) {
      text.clear();
      for (size_t n = rng() % 40; n > 0; --n) {
        text += alphabet[rng() % alphabet.size()];
      }
    }
    auto r = pq::parse_statement(text, &params);
    if (std::holds_alternative<pq::Statement>(r)) {
      ++parsed;
    } else {
      CHECK_FALSE(std::get<std::string>(r).empty());
    }
  }
  CHECK(parsed > 0);
  // Deep nesting answers a message instead of exhausting the stack.
  CHECK(parse_error("SELECT * FROM t WHERE " + std::string(4000, '(') + "a = 1" + std::string(4000, ')')) ==
        kBad + "Expression nesting is too deep");
  std::string calls = "1";
  for (int i = 0; i < 600; ++i) {
    calls = "list_append(" + calls + ", [1])";
  }
  CHECK(parse_error("UPDATE t SET a = " + calls + " WHERE pk = 1") == kBad + "Expression nesting is too deep");
}

namespace {

struct Db {
  std::unique_ptr<sless::storage::Store> store;
  sless::ManualClock clock{1700000000000};
  ddb::Engine engine;
  sless::services::RequestContext ctx;

  Db() {
    ctx.account = "123456789012";
    ctx.region = "us-east-1";
    sless::storage::Options o;
    o.in_memory = true;
    auto s = sless::storage::Store::open(o);
    REQUIRE(s.ok());
    store = std::move(s).value();
    REQUIRE(engine.start(store.get(), nullptr, &clock).is_ok());
    Json created = call(ops::create_table, R"({"TableName":"Mus","BillingMode":"PAY_PER_REQUEST",
      "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},
                              {"AttributeName":"g","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
      "GlobalSecondaryIndexes":[{"IndexName":"byg","KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],
                                 "Projection":{"ProjectionType":"ALL"}}]})");
    INFO(created.dump());
    REQUIRE_FALSE(created.contains("error"));
  }
  ~Db() { engine.stop(); }

  Json call(ops::Output (*fn)(ddb::Engine&, const sless::services::RequestContext&, Json&), const Json& params) {
    Json p = params;
    ctx.now_ms = clock.now_ms();
    auto out = fn(engine, ctx, p);
    if (!out.ok()) {
      Json e{{"error", out.error().code}, {"message", out.error().message}};
      if (!out.error().fields.empty()) {
        e["fields"] = out.error().fields;
      }
      return e;
    }
    if (out.value().raw_payload) {
      return Json::parse(*out.value().raw_payload);
    }
    return out.value().result;
  }
  Json call(ops::Output (*fn)(ddb::Engine&, const sless::services::RequestContext&, Json&), const char* text) {
    return call(fn, Json::parse(text));
  }
  Json run(const std::string& statement, Json params = nullptr, Json extra = Json::object()) {
    Json p = std::move(extra);
    p["Statement"] = statement;
    if (!params.is_null()) {
      p["Parameters"] = std::move(params);
    }
    return call(ops::execute_statement, p);
  }
};

std::vector<std::string> sks(const Json& items) {
  std::vector<std::string> out;
  for (const Json& i : items) {
    out.push_back(i.contains("sk") ? i["sk"]["N"].get<std::string>() : "-");
  }
  return out;
}

}  // namespace

TEST_CASE("partiql statements read and write items", "[dynamodb][partiql]") {
  Db db;
  for (int i = 1; i <= 5; ++i) {
    CHECK(db.run("INSERT INTO Mus VALUE {'pk': 'a', 'sk': " + std::to_string(i) + ", 'g': 'x', 'n': " +
                 std::to_string(i * 10) + "}") == Json{{"Items", Json::array()}});
  }
  CHECK(db.run("INSERT INTO Mus VALUE {'pk': 'b', 'sk': 1, 'n': 0, 'tags': <<'t1', 't2'>>}")["Items"].empty());

  // INSERT of an existing key.
  CHECK(db.run("INSERT INTO Mus VALUE {'pk': 'a', 'sk': 1}")["error"] == "DuplicateItemException");
  CHECK(db.run("INSERT INTO Mus VALUE {'pk': 'z'}")["error"] == "ValidationException");

  // Query by key, with a sort-key condition, a filter, order and a projection.
  Json r = db.run("SELECT sk, n FROM Mus WHERE pk = 'a' AND sk >= 2 AND n < 50 ORDER BY sk DESC");
  CHECK(sks(r["Items"]) == std::vector<std::string>{"4", "3", "2"});
  CHECK(r["Items"][0] == Json::parse(R"({"sk":{"N":"4"},"n":{"N":"40"}})"));
  r = db.run("SELECT * FROM Mus WHERE pk IN ['b', 'a'] AND sk = 1");
  CHECK(r["Items"].size() == 2);
  r = db.run(R"(SELECT pk FROM "Mus"."byg" WHERE g = 'x')");
  CHECK(r["Items"].size() == 5);
  r = db.run("SELECT * FROM Mus WHERE contains(tags, 't2') OR n = 30");
  CHECK(r["Items"].size() == 2);
  r = db.run("SELECT * FROM Mus WHERE tags IS MISSING AND n BETWEEN 20 AND 40");
  CHECK(r["Items"].size() == 3);

  // Paging: Limit counts items read; tokens resume.
  Json page = db.run("SELECT * FROM Mus WHERE pk = ?", Json::parse(R"([{"S":"a"}])"), Json{{"Limit", 2}});
  CHECK(sks(page["Items"]) == std::vector<std::string>{"1", "2"});
  REQUIRE(page.contains("NextToken"));
  page = db.run("SELECT * FROM Mus WHERE pk = ?", Json::parse(R"([{"S":"a"}])"),
                Json{{"Limit", 2}, {"NextToken", page["NextToken"]}});
  CHECK(sks(page["Items"]) == std::vector<std::string>{"3", "4"});
  Json other = db.run("SELECT * FROM Mus WHERE pk = 'b'", nullptr, Json{{"NextToken", page["NextToken"]}});
  CHECK(other["message"] == "The provided starting key is invalid");
  CHECK(db.run("SELECT * FROM Mus", nullptr, Json{{"NextToken", "!!"}})["message"] == "Invalid NextToken");
  size_t seen = 0;
  Json token;
  for (int guard = 0; guard < 20; ++guard) {
    Json extra{{"Limit", 1}};
    if (!token.is_null()) {
      extra["NextToken"] = token;
    }
    Json scan = db.run("SELECT * FROM Mus", nullptr, extra);
    seen += scan["Items"].size();
    if (!scan.contains("NextToken")) {
      break;
    }
    token = scan["NextToken"];
  }
  CHECK(seen == 6);

  // UPDATE: arithmetic, sets, RETURNING; the WHERE must name the key.
  r = db.run("UPDATE Mus SET n = n + 5 SET tags = set_add(tags, <<'t3'>>) WHERE pk = 'b' AND sk = 1 RETURNING ALL NEW *");
  CHECK(r["Items"][0]["n"]["N"] == "5");
  CHECK(r["Items"][0]["tags"]["SS"].size() == 3);
  CHECK(db.run("UPDATE Mus SET n = 1 WHERE pk = 'b'")["message"] ==
        "Where clause does not contain a mandatory equality on all key attributes");
  CHECK(db.run("UPDATE Mus SET n = 1 WHERE pk = 'nope' AND sk = 1")["error"] == "ConditionalCheckFailedException");
  Json failed = db.run("UPDATE Mus SET n = 1 WHERE pk = 'a' AND sk = 1 AND n = 999", nullptr,
                       Json{{"ReturnValuesOnConditionCheckFailure", "ALL_OLD"}});
  CHECK(failed["error"] == "ConditionalCheckFailedException");
  CHECK(failed["fields"]["Item"]["n"]["N"] == "10");
  r = db.run("UPDATE Mus REMOVE n WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED OLD *");
  CHECK(r["Items"][0] == Json::parse(R"({"n":{"N":"10"}})"));

  // DELETE: a missing item is fine; a failed condition is not.
  CHECK(db.run("DELETE FROM Mus WHERE pk = 'nope' AND sk = 1")["Items"].empty());
  CHECK(db.run("DELETE FROM Mus WHERE pk = 'a' AND sk = 2 AND n = 1")["error"] == "ConditionalCheckFailedException");
  r = db.run("DELETE FROM Mus WHERE pk = 'a' AND sk = 2 RETURNING ALL OLD *");
  CHECK(r["Items"][0]["n"]["N"] == "20");
  CHECK(db.run("SELECT * FROM Mus WHERE pk = 'a' AND sk = 2")["Items"].empty());

  CHECK(db.run("SELECT * FROM nope")["error"] == "ResourceNotFoundException");
  CHECK(db.run("EXISTS(SELECT * FROM Mus WHERE pk = 'a' AND sk = 1 AND n IS MISSING)")["message"] ==
        "EXISTS can only be used in ExecuteTransaction write requests.");
  CHECK(db.run("SELECT sk FROM Mus ORDER BY sk")["message"] ==
        "Must have WHERE clause in the statement when using ORDER BY clause.");
  CHECK(db.run("SELECT a.z, b.z FROM Mus")["message"] == "Duplicate identifiers in select clause: z");
}

TEST_CASE("partiql batches and transactions", "[dynamodb][partiql]") {
  Db db;
  Json r = db.call(ops::batch_execute_statement, R"J({"Statements":[
      {"Statement":"INSERT INTO Mus VALUE {'pk':'a','sk':1,'v':1}"},
      {"Statement":"INSERT INTO Mus VALUE {'pk':'a','sk':1,'v':2}"},
      {"Statement":"SLECT"},
      {"Statement":"UPDATE Mus SET v = 3 WHERE pk = ? AND sk = 2", "Parameters":[{"S":"a"}]}]})J");
  REQUIRE(r["Responses"].size() == 4);
  CHECK(r["Responses"][0] == Json{{"TableName", "Mus"}});
  CHECK(r["Responses"][1]["Error"]["Code"] == "DuplicateItem");
  CHECK(r["Responses"][2]["Error"]["Code"] == "ValidationError");
  CHECK(r["Responses"][3]["Error"]["Code"] == "ConditionalCheckFailed");

  r = db.call(ops::batch_execute_statement, R"J({"ReturnConsumedCapacity":"TOTAL","Statements":[
      {"Statement":"SELECT v FROM Mus WHERE pk = 'a' AND sk = 1"},
      {"Statement":"SELECT * FROM Mus WHERE pk = 'a' AND sk = 9"},
      {"Statement":"SELECT * FROM Mus WHERE v = 1"}]})J");
  CHECK(r["Responses"][0] == Json::parse(R"J({"TableName":"Mus","Item":{"v":{"N":"1"}}})J"));
  CHECK(r["Responses"][1] == Json{{"TableName", "Mus"}});
  CHECK(r["Responses"][2]["Error"]["Code"] == "ValidationError");
  CHECK(r["ConsumedCapacity"][0]["TableName"] == "Mus");

  // A transaction applies all its writes or none.
  r = db.call(ops::execute_transaction, R"J({"TransactStatements":[
      {"Statement":"INSERT INTO Mus VALUE {'pk':'t','sk':1}"},
      {"Statement":"UPDATE Mus SET v = 9 WHERE pk = 'a' AND sk = 1"},
      {"Statement":"EXISTS(SELECT * FROM Mus WHERE pk = 't0' AND sk = 1 AND v IS MISSING)"}]})J");
  CHECK(r.contains("error") == false);
  CHECK(db.run("SELECT * FROM Mus WHERE pk = 't'")["Items"].size() == 1);
  r = db.call(ops::execute_transaction, R"J({"TransactStatements":[
      {"Statement":"INSERT INTO Mus VALUE {'pk':'u','sk':1}"},
      {"Statement":"INSERT INTO Mus VALUE {'pk':'t','sk':1}"},
      {"Statement":"UPDATE Mus SET v = 1 WHERE pk = 'nope' AND sk = 1"}]})J");
  CHECK(r["error"] == "TransactionCanceledException");
  CHECK(r["message"] ==
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, DuplicateItem, "
        "ConditionalCheckFailed]");
  CHECK(r["fields"]["CancellationReasons"][1]["Code"] == "DuplicateItem");
  CHECK(db.run("SELECT * FROM Mus WHERE pk = 'u'")["Items"].empty());

  r = db.call(ops::execute_transaction, R"J({"TransactStatements":[
      {"Statement":"SELECT * FROM Mus WHERE pk = 'a' AND sk = 1"},
      {"Statement":"SELECT v FROM Mus WHERE pk = 'a' AND sk = 5"}]})J");
  CHECK(r["Responses"][0]["Item"]["v"]["N"] == "9");
  CHECK(r["Responses"][1] == Json::object());

  r = db.call(ops::execute_transaction, R"J({"TransactStatements":[
      {"Statement":"SELECT * FROM Mus WHERE pk = 'a' AND sk = 1"},
      {"Statement":"DELETE FROM Mus WHERE pk = 'a' AND sk = 1"}]})J");
  CHECK(r["message"] == "ExecuteTransaction API does not support both read and write operations in the same request.");
  r = db.call(ops::execute_transaction, R"J({"TransactStatements":[
      {"Statement":"UPDATE Mus SET v = 1 WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *"}]})J");
  CHECK(r["message"] == "Validation failed in TransactStatements[0]: RETURNING clause is not supported in "
                        "ExecuteTransaction.");
  r = db.call(ops::execute_transaction, R"J({"TransactStatements":[
      {"Statement":"EXISTS(SELECT * FROM Mus WHERE pk = 'a' AND sk = 1)"}]})J");
  CHECK(r["message"] == "Validation failed in TransactStatements[0]: EXISTS() must contain a single item read with "
                        "additional condition");

  // ClientRequestToken: the same request again answers success without running twice.
  const char* tokened = R"J({"ClientRequestToken":"tok-1","TransactStatements":[
      {"Statement":"UPDATE Mus SET v = v + 1 WHERE pk = 'a' AND sk = 1"}]})J";
  CHECK_FALSE(db.call(ops::execute_transaction, tokened).contains("error"));
  CHECK_FALSE(db.call(ops::execute_transaction, tokened).contains("error"));
  CHECK(db.run("SELECT v FROM Mus WHERE pk = 'a' AND sk = 1")["Items"][0]["v"]["N"] == "10");
  r = db.call(ops::execute_transaction, R"J({"ClientRequestToken":"tok-1","TransactStatements":[
      {"Statement":"UPDATE Mus SET v = v + 2 WHERE pk = 'a' AND sk = 1"}]})J");
  CHECK(r["error"] == "IdempotentParameterMismatchException");
}
