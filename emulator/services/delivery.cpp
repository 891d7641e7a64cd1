#include "services/delivery.h"

#include <cstring>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "services/lambda/lambda.h"
#include "services/logs/logs.h"
#include "services/registry.h"

namespace sless::services {

using nlohmann::json;

namespace {

// arn:partition:service:region:account:resource
std::string arn_part(const std::string& arn, int index) {
  size_t start = 0;
  for (int i = 0; i < index; ++i) {
    start = arn.find(':', start);
    if (start == std::string::npos) return {};
    ++start;
  }
  size_t end = index < 5 ? arn.find(':', start) : std::string::npos;
  return arn.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

std::string arn_service(const std::string& arn) { return arn.rfind("arn:", 0) == 0 ? arn_part(arn, 2) : std::string(); }

std::string arn_resource_name(const std::string& arn) {
  std::string res = arn_part(arn, 5);
  for (const char* prefix : {"event-bus/", "stateMachine:", "log-group:", "stream/", "function:"}) {
    if (res.rfind(prefix, 0) == 0) res = res.substr(std::strlen(prefix));
  }
  if (auto colon = res.find(":*"); colon != std::string::npos) res.resize(colon);
  return res;
}

void deliver(Env& env, Delivery d, std::function<void(std::optional<ServiceError>)> done) {
  RequestContext ctx;
  ctx.request_id = ids::uuid();
  ctx.account = d.account;
  ctx.region = d.region;
  ctx.now_ms = env.clock->now_ms();
  auto finish = [done](Outcome<protocol::OperationOutput> out) {
    done(out.ok() ? std::nullopt : std::optional<ServiceError>(std::move(out).error()));
  };
  std::string service = arn_service(d.target_arn);
  std::string target_account = arn_part(d.target_arn, 4);
  std::string target_region = arn_part(d.target_arn, 3);
  if (!target_region.empty()) ctx.region = target_region;
  if (service == "sqs") {
    json q{{"QueueName", arn_part(d.target_arn, 5)}};
    if (!target_account.empty()) q["QueueOwnerAWSAccountId"] = target_account;
    Env* e = &env;
    env.registry->call("sqs", "GetQueueUrl", q, ctx, [e, ctx, d, finish](Outcome<protocol::OperationOutput> out) {
      if (!out.ok()) {
        finish(std::move(out));
        return;
      }
      json send{{"QueueUrl", out.value().result["QueueUrl"]}, {"MessageBody", d.body}};
      if (d.attributes.is_object() && !d.attributes.empty()) send["MessageAttributes"] = d.attributes;
      if (!d.group_id.empty()) {
        send["MessageGroupId"] = d.group_id;
        send["MessageDeduplicationId"] = ids::uuid();
      }
      e->registry->call("sqs", "SendMessage", send, ctx, finish);
    });
  } else if (service == "sns") {
    json pub{{"TopicArn", d.target_arn}, {"Message", d.body}};
    if (d.attributes.is_object() && !d.attributes.empty()) pub["MessageAttributes"] = d.attributes;
    if (!d.subject.empty()) pub["Subject"] = d.subject;
    if (!d.group_id.empty()) pub["MessageGroupId"] = d.group_id;
    env.registry->call("sns", "Publish", pub, ctx, finish);
  } else if (service == "lambda") {
    auto* lambda = env.registry->get<lambda::LambdaService>("lambda");
    if (!lambda) {
      done(ServiceError::internal("lambda is not available"));
      return;
    }
    lambda->invoke(lambda::InternalInvoke{ctx.account, ctx.region, d.target_arn, d.body, /*async=*/true},
                   [done](Outcome<host::InvokeResult> out) {
                     done(out.ok() ? std::nullopt : std::optional<ServiceError>(std::move(out).error()));
                   });
  } else if (service == "kinesis") {
    json put{{"StreamARN", d.target_arn},
             {"Data", enc::base64_encode(d.body)},
             {"PartitionKey", d.partition_key.empty() ? ids::uuid() : d.partition_key}};
    env.registry->call("kinesis", "PutRecord", put, ctx, finish);
  } else if (service == "events") {
    json entry = json::parse(d.body, nullptr, false);
    json e{{"EventBusName", d.target_arn}};
    if (entry.is_object() && entry.contains("source") && entry.contains("detail-type")) {
      e["Source"] = entry["source"];
      e["DetailType"] = entry["detail-type"];
      e["Detail"] = entry.value("detail", json::object()).dump();
      if (entry.contains("resources")) e["Resources"] = entry["resources"];
    } else {
      e["Source"] = "sless";
      e["DetailType"] = "Message";
      e["Detail"] = entry.is_object() ? d.body : json{{"message", d.body}}.dump();
    }
    env.registry->call("events", "PutEvents", json{{"Entries", json::array({e})}}, ctx, finish);
  } else if (service == "logs") {
    auto* logs = env.registry->get<logs::LogsService>("logs");
    if (!logs) {
      done(ServiceError::internal("logs is not available"));
      return;
    }
    Status st = logs->append(target_account.empty() ? ctx.account : target_account, ctx.region,
                             arn_resource_name(d.target_arn), "sless-" + ctx.request_id.substr(0, 8),
                             {{ctx.now_ms, d.body}});
    done(st.is_ok() ? std::nullopt : std::optional<ServiceError>(ServiceError::internal(st.to_string())));
  } else if (service == "states") {
    env.registry->call("stepfunctions", "StartExecution", json{{"stateMachineArn", d.target_arn}, {"input", d.body}},
                       ctx, finish);
  } else {
    done(ServiceError("InvalidArgument", "sless cannot deliver to " + d.target_arn));
  }
}

}  // namespace sless::services
