// Asynchronous invocations (InvocationType Event): a durable queue, retries with the function's
// event invoke config (MaximumRetryAttempts, MaximumEventAgeInSeconds), then on-success /
// on-failure destinations or the dead-letter queue.
//
//   Invoke(Event) ──▶ "ev" record in RocksDB ──▶ run_event ──▶ host ─┬─ ok ──▶ OnSuccess
//                                                       ▲           └─ error ─▶ retry after a delay
//                                                       └──────────────────────┘   or OnFailure / DLQ
#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "core/time_format.h"
#include "services/lambda/internal.h"
#include "services/delivery.h"
#include "services/registry.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::lambda {

using nlohmann::json;
namespace key = storage::key;

struct LambdaService::PendingEvent {
  uint64_t seq = 0;
  json record;  // account, region, function, qualifier, payload, request_id, attempts, first_ms
};

namespace {

std::string event_key(uint64_t seq) { return key::KeyBuilder("", "").str("ev").u64(seq).take(); }

}  // namespace

Status LambdaService::queue_event(const Resolved& target, const std::string& payload, const std::string& request_id) {
  auto ev = std::make_shared<PendingEvent>();
  ev->seq = ++event_seq_;
  const host::FunctionConfig& cfg = *target.config;
  ev->record = json{{"account", cfg.account},       {"region", cfg.region},
                    {"function", cfg.name},          {"qualifier", target.alias.empty() ? target.version : target.alias},
                    {"payload", payload},            {"request_id", request_id},
                    {"attempts", 0},                 {"first_ms", env_->clock->now_ms()}};
  if (Status st = env_->store->put(family_, event_key(ev->seq), ev->record.dump()); !st.is_ok()) return st;
  {
    std::lock_guard lock(events_mu_);
    events_[ev->seq] = ev;
  }
  uint64_t seq = ev->seq;
  env_->scheduler->post([this, seq] { run_event(seq); });
  return Status::ok();
}

void LambdaService::load_events() {
  std::string prefix = key::KeyBuilder("", "").str("ev").take();
  auto it = env_->store->iterate(family_, prefix, key::prefix_end(prefix));
  uint64_t max_seq = 0;
  std::vector<uint64_t> pending;
  for (it->seek(prefix); it->valid(); it->next()) {
    std::string_view rest = it->key().substr(prefix.size());
    uint64_t seq = 0;
    if (!key::read_u64(rest, &seq)) continue;
    auto ev = std::make_shared<PendingEvent>();
    ev->seq = seq;
    ev->record = json::parse(it->value(), nullptr, false);
    if (ev->record.is_discarded()) continue;
    max_seq = std::max(max_seq, seq);
    std::lock_guard lock(events_mu_);
    events_[seq] = ev;
    pending.push_back(seq);
  }
  event_seq_.store(max_seq);
  for (uint64_t seq : pending) env_->scheduler->post([this, seq] { run_event(seq); });
}

void LambdaService::run_event(uint64_t seq) {
  if (stopping_.load()) return;
  std::shared_ptr<PendingEvent> ev;
  {
    std::lock_guard lock(events_mu_);
    auto it = events_.find(seq);
    if (it == events_.end()) return;
    ev = it->second;
  }
  json& rec = ev->record;
  auto r = resolve(rec["account"], rec["region"], rec["function"], rec["qualifier"]);
  auto drop = [this, seq] {
    {
      std::lock_guard lock(events_mu_);
      events_.erase(seq);
    }
    env_->store->del(family_, event_key(seq)).ignore();
  };
  if (!r.ok()) {
    log::warn("dropping an asynchronous event for {}: {}", rec["function"].get<std::string>(), r.error().message);
    drop();
    return;
  }
  Resolved target = std::move(r).value();
  json invoke_config = json::object();
  json dead_letter = json::object();
  {
    std::lock_guard lock(target.function->mu);
    const json& configs = target.function->doc["invoke_configs"];
    std::string q = rec["qualifier"];
    if (configs.contains(q)) invoke_config = configs[q];
    const json& c = target.version == "$LATEST" ? target.function->doc["config"]
                                                : target.function->doc["versions"][target.version]["config"];
    if (c.contains("DeadLetterConfig")) dead_letter = c["DeadLetterConfig"];
  }
  host::InvokeRequest req;
  req.request_id = rec["request_id"];
  req.payload = rec["payload"];
  req.invoked_arn = target.invoked_arn;
  req.throttle = false;
  std::string version = target.version;
  std::string function_arn_q = target.config->arn + ":" + version;
  host_->invoke(target.config, std::move(req), [this, ev, seq, drop, invoke_config, dead_letter, version,
                                                function_arn_q](host::InvokeResult res) {
    json& rec = ev->record;
    int attempts = rec["attempts"].get<int>() + 1;
    rec["attempts"] = attempts;
    int64_t now = env_->clock->now_ms();
    int max_retries = invoke_config.value("MaximumRetryAttempts", 2);
    int64_t max_age_ms = static_cast<int64_t>(invoke_config.value("MaximumEventAgeInSeconds", 21600)) * 1000;
    bool ok = res.kind == host::InvokeResult::Kind::kOk;
    bool throttled = res.kind == host::InvokeResult::Kind::kThrottled;
    bool expired = now - rec["first_ms"].get<int64_t>() >= max_age_ms;
    if (!ok && !expired && (throttled || attempts <= max_retries)) {
      // Lambda waits a minute, then two; sless waits retry_delay, then twice that (configurable).
      int64_t delay = env_->config->lambda_retry_delay_ms * (throttled ? 1 : attempts);
      env_->store->put(family_, event_key(seq), rec.dump()).ignore();
      env_->scheduler->after(std::chrono::milliseconds(delay), [this, seq] { run_event(seq); });
      return;
    }
    const json& destinations = invoke_config.value("DestinationConfig", json::object());
    std::string target_arn = ok ? destinations.value("OnSuccess", json::object()).value("Destination", "")
                                : destinations.value("OnFailure", json::object()).value("Destination", "");
    std::string account = rec["account"];
    std::string region = rec["region"];
    if (!target_arn.empty()) {
      json payload = json::parse(rec["payload"].get<std::string>(), nullptr, false);
      json response = json::parse(res.payload, nullptr, false);
      json record{{"version", "1.0"},
                  {"timestamp", timefmt::iso8601_ms(now)},
                  {"requestContext", json{{"requestId", rec["request_id"]},
                                          {"functionArn", function_arn_q},
                                          {"condition", ok ? "Success" : expired ? "EventAgeExceeded" : "RetriesExhausted"},
                                          {"approximateInvokeCount", attempts}}},
                  {"requestPayload", payload.is_discarded() ? json(rec["payload"]) : payload},
                  {"responseContext", json{{"statusCode", 200}, {"executedVersion", version}}},
                  {"responsePayload", response.is_discarded() ? json(res.payload) : response}};
      if (!ok) record["responseContext"]["functionError"] = "Unhandled";
      deliver(account, region, target_arn, record, rec["request_id"]);
    } else if (!ok && dead_letter.contains("TargetArn")) {
      // The dead-letter queue gets the event itself, with the error in message attributes.
      std::string arn = dead_letter["TargetArn"];
      json error = json::parse(res.payload, nullptr, false);
      std::string message = error.is_object() ? error.value("errorMessage", res.payload) : res.payload;
      json attrs{{"RequestID", json{{"DataType", "String"}, {"StringValue", rec["request_id"]}}},
                 {"ErrorCode", json{{"DataType", "String"}, {"StringValue", "200"}}},
                 {"ErrorMessage", json{{"DataType", "String"}, {"StringValue", message.substr(0, 1000)}}}};
      deliver(account, region, arn, json{{"__raw", rec["payload"]}, {"__attributes", attrs}}, rec["request_id"]);
    }
    drop();
  });
}

void LambdaService::deliver(const std::string& account, const std::string& region, const std::string& target_arn,
                            const json& record, const std::string& request_id) {
  Delivery d;
  d.account = account;
  d.region = region;
  d.target_arn = target_arn;
  if (record.contains("__raw")) {
    d.body = record["__raw"];
    d.attributes = record["__attributes"];
  } else {
    d.body = record.dump();
  }
  if (arn_service(target_arn) == "events") {
    // EventBridge destinations get the record as the detail of a Lambda result event.
    bool success = record.contains("requestContext") && record["requestContext"].value("condition", "") == "Success";
    d.body = json{{"source", "lambda"},
                  {"detail-type", success ? "Lambda Function Invocation Result - Success"
                                          : "Lambda Function Invocation Result - Failure"},
                  {"detail", record},
                  {"resources", json::array()}}
                 .dump();
  }
  services::deliver(*env_, std::move(d), [target_arn, request_id](std::optional<ServiceError> error) {
    if (error) log::warn("delivery of {} to {} failed: {}: {}", request_id, target_arn, error->code, error->message);
  });
}

}  // namespace sless::services::lambda
