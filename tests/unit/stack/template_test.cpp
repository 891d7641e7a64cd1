#include <catch2/catch.hpp>

#include "stack/intrinsics.h"
#include "stack/template.h"

using namespace sless::stack;
using nlohmann::json;

TEST_CASE("YAML short forms become long forms, scalars get their types", "[stack]") {
  auto doc = parse_template(R"(Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 10
      Name: !Sub "${AWS::StackName}-fn"
      Arn: !GetAtt Table.Arn
      Ref: !Ref Table
      Zip: "01234"
      Flag: true
      Joined: !Join [",", [a, !Ref X]]
)");
  REQUIRE(doc.ok());
  const json& p = doc.value().root["Resources"]["Fn"]["Properties"];
  CHECK(p["Timeout"] == 10);
  CHECK(p["Name"] == json{{"Fn::Sub", "${AWS::StackName}-fn"}});
  CHECK(p["Arn"] == json{{"Fn::GetAtt", {"Table", "Arn"}}});
  CHECK(p["Ref"] == json{{"Ref", "Table"}});
  CHECK(p["Zip"] == "01234");
  CHECK(p["Flag"] == true);
  CHECK(p["Joined"]["Fn::Join"][1][1] == json{{"Ref", "X"}});
  CHECK(doc.value().line_of("/Resources/Fn/Properties/Arn") == 7);
  CHECK(doc.value().line_of("/Resources/Fn/Properties/Nope/deeper") == 4);
}

TEST_CASE("YAML errors carry their line", "[stack]") {
  auto doc = parse_template("Resources:\n  A: [unclosed\n  B: 1\n");
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.status().message().find("line ") == 0);
}

TEST_CASE("intrinsics resolve against parameters, conditions and resources", "[stack]") {
  Scope scope;
  scope.parameters["Stage"] = "dev";
  scope.parameters["AWS::Region"] = "eu-west-1";
  std::map<std::string, bool> conditions{{"IsProd", false}};
  scope.conditions = &conditions;
  scope.ref = [](const std::string& n) -> std::optional<json> {
    if (n == "Queue") return json("http://q");
    return std::nullopt;
  };
  scope.get_att = [](const std::string& n, const std::string& a) -> std::optional<json> {
    if (n == "Queue" && a == "Arn") return json("arn:q");
    return std::nullopt;
  };
  auto r = resolve(json::parse(R"({
    "a": {"Fn::Sub": "${Stage}-${AWS::Region}-${Queue.Arn}-${!Literal}"},
    "b": {"Fn::Join": ["/", [{"Ref": "Queue"}, "x"]]},
    "c": {"Fn::Select": [1, {"Fn::Split": [",", "p,q,r"]}]},
    "d": {"Fn::If": ["IsProd", "big", "small"]},
    "e": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
    "f": {"Fn::Sub": ["${X}!", {"X": {"Ref": "Stage"}}]}
  })"), scope);
  REQUIRE(r.ok());
  CHECK(r.value()["a"] == "dev-eu-west-1-arn:q-${Literal}");
  CHECK(r.value()["b"] == "http://q/x");
  CHECK(r.value()["c"] == "q");
  CHECK(r.value()["d"] == "small");
  CHECK_FALSE(r.value().contains("e"));
  CHECK(r.value()["f"] == "dev!");
  CHECK_FALSE(resolve(json{{"Ref", "Missing"}}, scope).ok());
}
