// Runners of event source mappings: each polls one source (an SQS queue, a Kinesis stream, a
// DynamoDB stream) and invokes the mapping's function with batches shaped as Lambda delivers them.
// A runner lives on the io threads (timers); start() and stop() are called under the Lambda
// service's mapping lock and must not block.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace sless::services {
struct Env;
}

namespace sless::services::lambda {

class LambdaService;

class SourceRunner {
 public:
  virtual ~SourceRunner() = default;
  virtual void start() = 0;
  // Stops polling; a batch in flight completes but its results are not acted on.
  virtual void stop() = 0;
  // "OK", "PROBLEM: ...", or empty when nothing was processed yet.
  virtual std::string last_result() const = 0;
};

// Whether sless can poll sources of this service ("sqs", "kinesis", "dynamodb").
bool runner_supported(const std::string& service);
// Whether the source named by the ARN exists (the mapping's account and region).
bool source_exists(Env& env, const std::string& account, const std::string& region, const std::string& arn);
// A FilterCriteria filter's Pattern, parsed: a JSON object of the event pattern language, or
// nullopt (absent, not JSON, not an object, or not a pattern the matcher can read).
std::optional<nlohmann::json> filter_pattern(const nlohmann::json& filter);
// A runner for the mapping, or nullptr when its source cannot be polled.
std::unique_ptr<SourceRunner> make_runner(LambdaService& lambda, Env& env, const nlohmann::json& mapping);

}  // namespace sless::services::lambda
