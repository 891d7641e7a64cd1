#include <catch2/catch.hpp>

#include "stack/stack.h"

using namespace sless::stack;
using sless::Result;

namespace {

Result<Plan> plan(const std::string& text, std::map<std::string, std::string> overrides = {}) {
  StackOptions o;
  o.template_path = "/tmp/stack-test/template.yaml";
  o.parameter_overrides = std::move(overrides);
  return plan_stack_text(text, o, nullptr);
}


const char* kApp = R"(Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Timeout: 5
    Environment:
      Variables:
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::Serverless::SimpleTable
  Queue:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: lib.so
      Handler: get
      Environment:
        Variables:
          STAGE: !Ref Stage
      Events:
        Get:
          Type: HttpApi
          Properties:
            Path: /items/{id}
            Method: get
Outputs:
  Url:
    Value: !Sub "http://${ServerlessHttpApi}/"
)";

}  // namespace

TEST_CASE("a SAM app plans: globals, conditions, implicit API, order", "[stack]") {
  auto p = plan(kApp);
  REQUIRE(p.ok());
  std::vector<std::string> order;
  for (const auto& r : p.value().resources) order.push_back(r.logical_id);
  CHECK(order == std::vector<std::string>{"Table", "Fn", "ServerlessHttpApi"});
  const auto& fn = p.value().resources[1];
  CHECK(fn.properties["Timeout"] == 5);
  CHECK(fn.properties["Environment"]["Variables"].size() == 2);
  CHECK_FALSE(fn.properties.contains("Events"));
  CHECK(p.value().resources[2].properties["__sless_routes"][0]["Path"] == "/items/{id}");
  CHECK(p.value().stack_name == "stack-test");

  auto prod = plan(kApp, {{"Stage", "prod"}});
  REQUIRE(prod.ok());
  CHECK(prod.value().resources.size() == 4);
  auto bad = plan(kApp, {{"Stage", "qa"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("AllowedValues") != std::string::npos);
}

TEST_CASE("template errors name the resource and line", "[stack]") {
  auto unknown_type = plan("Resources:\n  X:\n    Type: AWS::EC2::Instance\n");
  REQUIRE_FALSE(unknown_type.ok());
  CHECK(unknown_type.status().message() ==
        "Resources.X (line 3): resource type AWS::EC2::Instance is not supported by sless (see docs/services.md)");

  auto unknown_ref = plan("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy:\n"
                          "        deadLetterTargetArn: !GetAtt Nope.Arn\n");
  REQUIRE_FALSE(unknown_ref.ok());
  CHECK(unknown_ref.status().message().find("Resources.Q (line 2): unknown reference Nope") == 0);

  auto cycle = plan("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    DependsOn: B\n  B:\n    Type: AWS::SQS::Queue\n"
                    "    DependsOn: A\n");
  REQUIRE_FALSE(cycle.ok());
  CHECK(cycle.status().message().find("circular dependency between resources: A, B") != std::string::npos);

  auto wrong_type = plan("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: x\n"
                         "      Handler: h\n      Timeout: [1]\n");
  REQUIRE_FALSE(wrong_type.ok());
  CHECK(wrong_type.status().message().find("Resources.F (line 7): property Timeout must be an integer") == 0);

  auto import = plan("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !ImportValue x\n");
  REQUIRE_FALSE(import.ok());
  CHECK(import.status().message().find("Fn::ImportValue is not supported") != std::string::npos);

  auto missing_param = plan("Parameters:\n  P:\n    Type: String\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n");
  REQUIRE_FALSE(missing_param.ok());
  CHECK(missing_param.status().message().find("Parameters.P (line 2): no value") == 0);

  auto bad_event = plan("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: x\n"
                        "      Handler: h\n      Events:\n        E:\n          Type: IoTRule\n");
  REQUIRE_FALSE(bad_event.ok());
  CHECK(bad_event.status().message().find("Resources.F (line 8): event type IoTRule") == 0);
}
