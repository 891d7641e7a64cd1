// Delivery of a message to a target named by its ARN, in-process: an SQS queue, an SNS topic, a
// Lambda function (asynchronous invoke), a Kinesis stream, an EventBridge bus, a CloudWatch Logs
// group or a Step Functions state machine. Shared by Lambda destinations and dead-letter queues,
// EventBridge targets, and the notifications of other services. Thread-safe; `done` runs once,
// on some io thread.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/service_error.h"

namespace sless::services {

struct Env;

struct Delivery {
  std::string account;            // the sender's account and region (the target ARN may name others)
  std::string region;
  std::string target_arn;
  std::string body;               // message body / invocation payload / record data
  nlohmann::json attributes;      // SQS/SNS message attributes, when any
  std::string group_id;           // SQS FIFO MessageGroupId
  std::string partition_key;      // Kinesis PartitionKey (defaults to a random one)
  std::string subject;            // SNS Subject
};

// The service named by an ARN ("sqs", "sns", "lambda", ...), or empty.
std::string arn_service(const std::string& arn);
// The resource part after the last ':' (or '/': event-bus/name, log-group:name).
std::string arn_resource_name(const std::string& arn);

void deliver(Env& env, Delivery d, std::function<void(std::optional<ServiceError>)> done);

}  // namespace sless::services
