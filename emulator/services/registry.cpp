#include "services/registry.h"

#include <atomic>
#include <chrono>

#include "core/log.h"
#include "protocol/model.h"
#include "services/apigateway/apigateway.h"
#include "services/dynamodb/provider.h"
#include "services/events/events.h"
#include "services/lambda/lambda.h"
#include "services/logs/logs.h"
#include "services/kinesis/provider.h"
#include "services/sns/provider.h"
#include "services/sqs/provider.h"
#include "services/s3/provider.h"

namespace sless::services {
namespace {

std::unique_ptr<Service> model_only(std::string name, std::vector<std::string> models = {}) {
  if (models.empty()) models.push_back(name);
  return std::make_unique<ModelOnlyService>(std::move(name), std::move(models));
}

}  // namespace

// The explicit list of services. A service issue replaces its model_only(...) line with its
// provider (no static self-registration: the linker drops unreferenced registrars).
Registry::Registry() {
  auto dynamodb = std::make_unique<dynamodb::DynamoDbService>();
  auto dynamodb_streams = std::make_unique<dynamodb::DynamoDbStreamsService>(dynamodb->engine());
  services_.push_back(std::move(dynamodb));
  services_.push_back(std::move(dynamodb_streams));
  services_.push_back(std::make_unique<s3::S3Provider>());
  services_.push_back(std::make_unique<sqs::SqsProvider>());
  services_.push_back(std::make_unique<sns::SnsProvider>());
  services_.push_back(std::make_unique<kinesis::KinesisProvider>());
  services_.push_back(std::make_unique<lambda::LambdaService>());
  services_.push_back(std::make_unique<apigateway::ApiGatewayService>());
  services_.push_back(model_only("stepfunctions"));
  services_.push_back(std::make_unique<events::EventsService>());
  services_.push_back(model_only("cognito-idp"));
  services_.push_back(model_only("kms"));
  services_.push_back(std::make_unique<logs::LogsService>());
  for (const auto& s : services_) {
    for (const auto& m : s->models()) by_model_[m] = s.get();
  }
}

Registry::~Registry() = default;

Status Registry::start_all(Env& env) {
  for (const auto& s : services_) {
    const auto began = std::chrono::steady_clock::now();
    Status st = s->start(env);
    if (!st.is_ok()) return Status::internal("service " + std::string(s->name()) + " failed to start: " + st.to_string());
    log::debug("start-up: {} started in {:.2f} ms", s->name(),
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count());
  }
  return Status::ok();
}

void Registry::clock_changed() {
  for (const auto& s : services_) s->clock_changed();
}

void Registry::drain_all() {
  for (const auto& s : services_) s->drain();
}

void Registry::stop_all() {
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) (*it)->stop();
}

Status Registry::reset(std::string_view name) {
  for (const auto& s : services_) {
    if (!name.empty() && s->name() != name) continue;
    Status st = s->reset();
    if (!st.is_ok()) return st;
    if (!name.empty()) return Status::ok();
  }
  return name.empty() ? Status::ok() : Status::not_found("no service named " + std::string(name));
}

Service* Registry::by_name(std::string_view name) const {
  for (const auto& s : services_) {
    if (s->name() == name) return s.get();
  }
  return nullptr;
}

Service* Registry::by_model(std::string_view model) const {
  auto it = by_model_.find(std::string(model));
  return it == by_model_.end() ? nullptr : it->second;
}

void Registry::call(std::string_view model_name, std::string_view operation, nlohmann::json params,
                    RequestContext ctx, Done done, bool keep_json_text) const {
  const protocol::ServiceModel* model = protocol::ModelRegistry::instance().get(model_name);
  Service* service = by_model(model_name);
  const protocol::Operation* op = model ? model->find_operation(operation) : nullptr;
  if (!service || !op) {
    done(ServiceError("UnknownOperationException", "Unknown operation " + std::string(model_name) + "." +
                                                       std::string(operation)));
    return;
  }
  if (op->input) {
    if (auto err = protocol::validate(*model, *op->input, params)) {
      done(std::move(*err));
      return;
    }
  }
  // `done` must run exactly once, even when the service throws.
  auto fired = std::make_shared<std::atomic<bool>>(false);
  auto callback = std::make_shared<Done>(std::move(done));
  Invocation inv;
  ctx.service = std::string(model_name);
  ctx.operation = op->name;
  inv.ctx = std::move(ctx);
  inv.op = op;
  inv.params = std::move(params);
  inv.request = std::make_shared<http::Request>();
  const bool parse_text = model->protocol == protocol::Protocol::kJson && !keep_json_text;
  inv.done = [fired, callback, parse_text](Outcome<protocol::OperationOutput> out) {
    if (fired->exchange(true)) return;
    // In-process callers get a result tree even when the service wrote its JSON body itself.
    if (parse_text && out.ok() && out.value().raw_payload) {
      auto tree = nlohmann::json::parse(*out.value().raw_payload, nullptr, /*allow_exceptions=*/false);
      out.value().result = tree.is_object() ? std::move(tree) : nlohmann::json::object();
      out.value().raw_payload.reset();
    }
    (*callback)(std::move(out));
  };
  try {
    service->invoke(std::move(inv));
  } catch (const std::exception& e) {
    log::error("{}.{} threw: {}", model_name, operation, e.what());
    if (!fired->exchange(true)) (*callback)(ServiceError::internal("internal error"));
  }
}

}  // namespace sless::services
