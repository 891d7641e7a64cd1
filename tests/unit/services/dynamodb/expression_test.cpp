// The expression language: parsing (with DynamoDB's messages), evaluation, updates,
// projections, and a fuzz-style run of random and mutated expressions that must never crash
// and must answer either a tree or a message.
#include <catch2/catch.hpp>

#include <random>

#include "services/dynamodb/expression.h"

using sless::services::dynamodb::Json;
namespace expr = sless::services::dynamodb::expr;

namespace {

struct ExpressionFixture {
  Json names = Json::parse(R"({"#s":"status","#n":"name"})");
  Json values = Json::parse(R"({":a":{"S":"active"},":one":{"N":"1"},":five":{"N":"5"},":l":{"L":[{"S":"z"}]},
                                ":ss":{"SS":["x"]},":t":{"S":"SS"},":p":{"S":"ab"}})");
  Json item = Json::parse(R"({"pk":{"S":"k"},"status":{"S":"active"},"n":{"N":"3"},"tags":{"SS":["x","y"]},
                              "m":{"M":{"a":{"L":[{"N":"1"},{"M":{"b":{"S":"deep"}}}]}}},"s":{"S":"abc"}})");

  std::string condition_error(const char* text) {
    expr::Binder b(&names, &values);
    auto r = expr::parse_condition(text, b);
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
  }
  bool holds(const char* text) {
    expr::Binder b(&names, &values);
    auto r = expr::parse_condition(text, b);
    REQUIRE(std::holds_alternative<expr::Condition>(r));
    return expr::evaluate(std::get<expr::Condition>(r), item);
  }
  std::string update(const char* text, Json& target) {
    expr::Binder b(&names, &values);
    auto r = expr::parse_update(text, b);
    if (auto* e = std::get_if<std::string>(&r)) {
      return *e;
    }
    auto e = expr::apply_update(std::get<expr::Update>(r), target);
    return e ? *e : std::string();
  }
};

}  // namespace

TEST_CASE("conditions evaluate like DynamoDB's", "[dynamodb]") {
  ExpressionFixture f;
  CHECK(f.holds("#s = :a"));
  CHECK(f.holds("n BETWEEN :one AND :five"));
  CHECK(f.holds("n > :one AND NOT n > :five"));
  CHECK(f.holds("attribute_exists(m.a[1].b) AND attribute_not_exists(m.a[2])"));
  CHECK(f.holds("contains(tags, :p) OR contains(s, :p)"));
  CHECK(f.holds("begins_with(s, :p)"));
  CHECK(f.holds("attribute_type(tags, :t)"));
  CHECK(f.holds("size(tags) = :one OR size(s) > :one"));
  CHECK(f.holds("n IN (:one, :five) OR #s IN (:a)"));
  CHECK(f.holds("nope <> :one"));
  CHECK_FALSE(f.holds("nope = :one"));
  CHECK_FALSE(f.holds("n < :one"));
  CHECK(f.holds("(n > :one) AND (#s = :a OR n = :five)"));
}

TEST_CASE("condition errors carry DynamoDB's messages", "[dynamodb]") {
  ExpressionFixture f;
  CHECK(f.condition_error("n = :nope") ==
        "An expression attribute value used in expression is not defined; attribute value: :nope");
  CHECK(f.condition_error("#nope = :one") ==
        "An expression attribute name used in the document path is not defined; attribute name: #nope");
  CHECK(f.condition_error("name = :one") == "Attribute name is a reserved keyword; reserved keyword: name");
  CHECK(f.condition_error("n = = :one") == "Syntax error; token: \"=\", near: \"= = :one\"");
  CHECK(f.condition_error("n = :one AND") == "Syntax error; token: \"<EOF>\", near: \"AND\"");
  CHECK(f.condition_error("foo(n)") == "Invalid function name; function: foo");
  CHECK(f.condition_error("size(n)") ==
        "The function is not allowed to be used this way in an expression; function: size");
  CHECK(f.condition_error("((n = :one))") == "The expression has redundant parentheses;");
  CHECK(f.condition_error("attribute_exists(n, s)") ==
        "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of "
        "operands: 2");
  CHECK(f.condition_error("n = n") ==
        "The first operand must be distinct from the remaining operands for this operator or function; operator: =, "
        "first operand: [n]");
  CHECK(f.condition_error("n BETWEEN :five AND :one").rfind("The BETWEEN operator requires upper bound", 0) == 0);
  CHECK(f.condition_error("") == "The expression can not be empty;");
}

TEST_CASE("updates apply every action against the old item", "[dynamodb]") {
  ExpressionFixture f;
  Json item = f.item;
  REQUIRE(f.update("SET n = n + :one, l = list_append(if_not_exists(l, :l), :l) REMOVE m.a[0] ADD tags :ss, c :five "
                   "DELETE tags :ss",
                   item) == "Two document paths overlap with each other; must remove or rewrite one of these paths; "
                            "path one: [tags], path two: [tags]");
  item = f.item;
  REQUIRE(f.update("SET n = n + :one, l = list_append(if_not_exists(l, :l), :l) REMOVE m.a[0] ADD c :five", item)
              .empty());
  CHECK(item["n"]["N"] == "4");
  CHECK(item["l"]["L"].size() == 2);
  CHECK(item["m"]["M"]["a"]["L"].size() == 1);
  CHECK(item["c"]["N"] == "5");
  item = f.item;
  CHECK(f.update("SET s = s + :one", item) == "An operand in the update expression has an incorrect data type");
  item = f.item;
  CHECK(f.update("SET x.y = :one", item) == "The document path provided in the update expression is invalid for update");
  item = f.item;
  CHECK(f.update("SET n = nothing", item) ==
        "The provided expression refers to an attribute that does not exist in the item");
  CHECK(f.update("SET a = :one SET b = :one", item) ==
        "The \"SET\" section can only be used once in an update expression;");
  CHECK(f.update("ADD s :a", item) == "Incorrect operand type for operator or function; operator: ADD, operand type: STRING");
  item = f.item;
  REQUIRE(f.update("DELETE tags :ss", item).empty());
  CHECK(item["tags"]["SS"] == Json::array({"y"}));
}

TEST_CASE("projections keep the shape of nested paths", "[dynamodb]") {
  ExpressionFixture f;
  expr::Binder b(&f.names, &f.values);
  auto r = expr::parse_projection("pk, m.a[1].b, #s, nothing", b);
  REQUIRE(std::holds_alternative<std::vector<expr::Path>>(r));
  Json out = expr::project(f.item, std::get<std::vector<expr::Path>>(r));
  CHECK(out == Json::parse(R"({"pk":{"S":"k"},"status":{"S":"active"},
                               "m":{"M":{"a":{"L":[{"M":{"b":{"S":"deep"}}}]}}}})"));
  CHECK(b.unused() == std::optional<std::string>(
                          "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}"));
}

TEST_CASE("random and mutated expressions never crash and always answer", "[dynamodb]") {
  ExpressionFixture f;
  const std::vector<std::string> seeds = {
      "#s = :a AND (n BETWEEN :one AND :five OR size(tags) > :one)",
      "SET n = n + :one, l = list_append(:l, if_not_exists(l, :l)) REMOVE m.a[0] ADD c :five DELETE tags :ss",
      "pk, m.a[1].b, #s",
      "attribute_exists(m.a[1].b) AND NOT contains(tags, :p) OR begins_with(s, :p)",
      "n IN (:one, :five, :a)",
  };
  const std::string alphabet = "abn#s:one:five()[]., =<>+-ANDORNOTINBETWEEN0123456789\x01\xff\"'_";
  std::mt19937 rng(20240501);
  for (int round = 0; round < 20000; ++round) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
      switch (rng() % 4) {
        case 0: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1:
          if (at < text.size()) text.erase(at, 1 + rng() % 4);
          break;
        case 2:
          if (at < text.size()) text[at] = alphabet[rng() % alphabet.size()];
          break;
        default: {
          const std::string& other = seeds[rng() % seeds.size()];
          const size_t from = rng() % other.size();
          text.insert(at, other.substr(from, 1 + rng() % 12));
        }
      }
    }
    if (round % 7 == 0) {
      text.clear();
      for (int i = 0, n = static_cast<int>(rng() % 40); i < n; ++i) {
        text.push_back(alphabet[rng() % alphabet.size()]);
      }
    }
    expr::Binder b(&f.names, &f.values);
    auto c = expr::parse_condition(text, b);
    if (auto* tree = std::get_if<expr::Condition>(&c)) {
      (void)expr::evaluate(*tree, f.item);
    } else {
      REQUIRE_FALSE(std::get<std::string>(c).empty());
    }
    auto u = expr::parse_update(text, b);
    if (auto* tree = std::get_if<expr::Update>(&u)) {
      Json item = f.item;
      (void)expr::apply_update(*tree, item);
    } else {
      REQUIRE_FALSE(std::get<std::string>(u).empty());
    }
    auto p = expr::parse_projection(text, b);
    if (auto* paths = std::get_if<std::vector<expr::Path>>(&p)) {
      (void)expr::project(f.item, *paths);
    } else {
      REQUIRE_FALSE(std::get<std::string>(p).empty());
    }
  }
}
