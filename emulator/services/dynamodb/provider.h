// The DynamoDB and DynamoDB Streams services: providers that map each operation to its function
// in ops.h over one shared Engine. The DynamoDB service owns the Engine (started in its start());
// the Streams service borrows it. In-process callers (the function host) reach the Engine with
// registry.get<DynamoDbService>("dynamodb")->engine(). Invoked from any io thread.
#pragma once

#include <memory>

#include "services/dynamodb/engine.h"
#include "services/service.h"

namespace sless::services::dynamodb {

class DynamoDbService final : public Provider {
 public:
  DynamoDbService();
  ~DynamoDbService() override;

  std::string_view name() const override { return "dynamodb"; }
  Status start(Env& env) override;
  void stop() override;
  Status reset() override;
  nlohmann::json describe() const override;

  Engine& engine() { return *engine_; }

 private:
  std::unique_ptr<Engine> engine_;
};

class DynamoDbStreamsService final : public Provider {
 public:
  explicit DynamoDbStreamsService(Engine& engine);

  std::string_view name() const override { return "dynamodbstreams"; }
  Status reset() override;

 private:
  Engine& engine_;
};

}  // namespace sless::services::dynamodb
