#include "services/wiring.h"

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/time_format.h"
#include "services/delivery.h"
#include "services/events/events.h"
#include "services/lambda/lambda.h"
#include "services/registry.h"
#include "services/s3/notifications.h"
#include "services/s3/provider.h"
#include "services/sns/provider.h"

namespace sless::services {

using nlohmann::json;

namespace {

// S3's events on EventBridge: "Object Created" / "Object Deleted" with the object in the detail.
json eventbridge_event(const s3::ObjectEvent& e) {
  bool created = e.event_name.rfind("ObjectCreated", 0) == 0;
  std::string reason = e.event_name.substr(e.event_name.find(':') + 1);
  json object{{"key", e.key}, {"sequencer", e.sequencer}};
  if (created) {
    object["size"] = e.size;
    object["etag"] = e.etag;
  }
  if (!e.version_id.empty()) object["version-id"] = e.version_id;
  return json{{"version", "0"},
              {"id", ids::uuid()},
              {"detail-type", created ? "Object Created" : "Object Deleted"},
              {"source", "aws.s3"},
              {"account", e.bucket_owner},
              {"time", timefmt::iso8601(e.time_ms)},
              {"region", e.region},
              {"resources", json::array({"arn:aws:s3:::" + e.bucket})},
              {"detail", json{{"version", "0"},
                              {"bucket", json{{"name", e.bucket}}},
                              {"object", object},
                              {"request-id", e.request_id},
                              {"requester", e.principal},
                              {"reason", reason == "Put" || reason == "Post" || reason == "Copy" ? "PutObject" : reason}}}};
}

// Whether the queue, topic or function an ARN names exists, asked through the service's own
// lookup operation. These lookups answer inline; an answer that does not come inline counts as
// "exists" (the delivery reports the problem later).
bool destination_exists(Registry& registry, Env& env, const s3::EventTarget& t) {
  RequestContext ctx;
  ctx.request_id = ids::uuid();
  ctx.account = arn_part(t.arn, 4);
  ctx.region = arn_part(t.arn, 3);
  ctx.now_ms = env.clock->now_ms();
  std::string model, op;
  json params;
  switch (t.kind) {
    case s3::EventTarget::Kind::kQueue:
      model = "sqs", op = "GetQueueUrl";
      params = json{{"QueueName", arn_part(t.arn, 5)}, {"QueueOwnerAWSAccountId", ctx.account}};
      break;
    case s3::EventTarget::Kind::kTopic:
      model = "sns", op = "GetTopicAttributes";
      params = json{{"TopicArn", t.arn}};
      break;
    case s3::EventTarget::Kind::kFunction:
      model = "lambda", op = "GetFunctionConfiguration";
      params = json{{"FunctionName", t.arn}};
      break;
    default:
      return true;
  }
  // Shared, so that an answer arriving after this returns writes to live memory.
  auto found = std::make_shared<std::optional<bool>>();
  registry.call(model, op, std::move(params), ctx, [found](Outcome<protocol::OperationOutput> out) {
    *found = out.ok() || out.error().http_status >= 500;
  });
  return found->value_or(true);
}

}  // namespace

Status connect_services(Registry& registry, Env& env) {
  Env* e = &env;
  if (auto* s3p = registry.get<s3::S3Provider>("s3")) {
    Registry* reg = &registry;
    s3::S3Provider::Destinations dest;
    dest.exists = [reg, e](const s3::EventTarget& t) { return destination_exists(*reg, *e, t); };
    dest.send_test = [e](const s3::EventTarget& t, const std::string& account, const std::string& region,
                         std::string body) {
      Delivery d;
      d.account = account;
      d.region = region;
      d.target_arn = t.arn;
      d.body = std::move(body);
      deliver(*e, std::move(d), [](std::optional<ServiceError>) {});
    };
    s3p->set_destinations(std::move(dest));
    auto* events = registry.get<events::EventsService>("events");
    s3p->add_event_sink([e, events](const s3::EventTarget& target, const s3::ObjectEvent& event) {
      if (target.kind == s3::EventTarget::Kind::kEventBridge) {
        if (events) events->route(event.bucket_owner, event.region, "default", eventbridge_event(event));
        return;
      }
      Delivery d;
      d.account = event.bucket_owner;
      d.region = event.region;
      d.target_arn = target.arn;
      d.body = s3::event_message(target, event).dump();
      std::string arn = target.arn;
      deliver(*e, std::move(d), [arn](std::optional<ServiceError> error) {
        if (error) log::warn("S3 notification to {} failed: {}: {}", arn, error->code, error->message);
      });
    });
  }
  auto* lambda = registry.get<lambda::LambdaService>("lambda");
  if (auto* sns = registry.get<sns::SnsProvider>("sns"); sns && lambda) {
    sns->set_lambda_deliverer([lambda](const sns::LambdaDelivery& d, std::function<void(bool)> done) {
      // The function ARN names its account and region.
      std::string arn = d.function_arn;
      std::string region, account;
      size_t a = arn.find(':', 4), b = a == std::string::npos ? a : arn.find(':', a + 1);
      size_t c = b == std::string::npos ? b : arn.find(':', b + 1);
      size_t e2 = c == std::string::npos ? c : arn.find(':', c + 1);
      if (e2 != std::string::npos) {
        region = arn.substr(b + 1, c - b - 1);
        account = arn.substr(c + 1, e2 - c - 1);
      }
      lambda->invoke(lambda::InternalInvoke{account, region, arn, d.event.dump(), /*async=*/true},
                     [done, arn](Outcome<host::InvokeResult> out) {
                       if (!out.ok()) log::warn("SNS delivery to {} failed: {}", arn, out.error().message);
                       done(out.ok());
                     });
    });
  }
  return Status::ok();
}

}  // namespace sless::services
