// Event source mappings: the API and their durable records. Each enabled mapping has a runner
// that polls its source (SQS queue, Kinesis stream, DynamoDB stream) and invokes the function;
// runners are made by make_runner() for the sources sless can poll.
#include <algorithm>
#include <optional>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "services/delivery.h"
#include "services/lambda/event_sources.h"
#include "services/lambda/internal.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::lambda {

using nlohmann::json;
using protocol::OperationOutput;
namespace key = storage::key;

namespace {

std::string mapping_key(const std::string& account, const std::string& region, const std::string& uuid) {
  return key::KeyBuilder(account, region).str("esm").str(uuid).take();
}

ServiceError mapping_not_found(const std::string& uuid) {
  return ServiceError("ResourceNotFoundException", "The resource you requested does not exist. (Service: Lambda, "
                      "Status Code: 404, Request ID: " + uuid + ")", 404);
}

// FilterCriteria as Lambda takes it: at most five filters (Lambda's default quota), each Pattern
// a JSON object in the event pattern language. The runners match records against the patterns
// as stored, so one the matcher cannot read must not get in.
std::optional<ServiceError> check_filter_criteria(const json& criteria) {
  constexpr size_t kMaxFilters = 5;
  const json filters = criteria.is_object() ? criteria.value("Filters", json::array()) : json::array();
  if (filters.size() > kMaxFilters) {
    return invalid_parameter("The number of filters (" + std::to_string(filters.size()) +
                             ") exceeds the limit of " + std::to_string(kMaxFilters) + " per event source mapping.");
  }
  for (const auto& f : filters) {
    if (!filter_pattern(f)) return invalid_parameter("Invalid filter pattern definition.");
  }
  return std::nullopt;
}

// The fields an API answer shows.
json shown(const json& m) {
  json out = m;
  out.erase("account");
  out.erase("region");
  out.erase("Enabled");
  return out;
}

}  // namespace

void LambdaService::load_mappings() {
  auto it = env_->store->iterate(family_, "", "");
  for (it->seek_to_first(); it->valid(); it->next()) {
    std::string_view k = it->key();
    std::string account, region, tag;
    if (!key::read_string(k, &account) || !key::read_string(k, &region) || !key::read_string(k, &tag) || tag != "esm") {
      continue;
    }
    json m = json::parse(it->value(), nullptr, false);
    if (m.is_discarded()) continue;
    std::lock_guard lock(mappings_mu_);
    std::string uuid = m["UUID"];
    mappings_[uuid] = m;
    if (m.value("Enabled", true)) start_runner_locked(uuid);
  }
}

void LambdaService::stop_mappings() {
  std::map<std::string, std::unique_ptr<SourceRunner>> runners;
  {
    std::lock_guard lock(mappings_mu_);
    runners.swap(runners_);
    mappings_.clear();
  }
  for (auto& [_, r] : runners) r->stop();
}

void LambdaService::start_runner_locked(const std::string& uuid) {
  json& m = mappings_[uuid];
  auto runner = make_runner(*this, *env_, m);
  if (!runner) {
    m["State"] = "Disabled";
    m["StateTransitionReason"] = "sless cannot poll this event source";
    return;
  }
  runner->start();
  runners_[uuid] = std::move(runner);
  m["State"] = "Enabled";
}

LambdaService::Out LambdaService::create_event_source_mapping(RequestContext& ctx, Params& p) {
  std::string source = p.value("EventSourceArn", "");
  std::string service = arn_service(source);
  if (service != "sqs" && service != "kinesis" && service != "dynamodb") {
    return invalid_parameter("Unsupported event source: " + (source.empty() ? std::string("(none)") : source) +
                             " (sless reads SQS queues, Kinesis streams and DynamoDB streams)");
  }
  if (!runner_supported(service)) {
    return invalid_parameter("sless cannot read events from " + service + " yet");
  }
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  if (p.contains("FilterCriteria")) {
    if (auto err = check_filter_criteria(p["FilterCriteria"])) return std::move(*err);
  }
  if (!source_exists(*env_, ctx.account, ctx.region, source)) {
    return invalid_parameter("The event source " + source + " does not exist.");
  }
  bool stream = service != "sqs";
  if (stream && !p.contains("StartingPosition")) {
    return invalid_parameter("1 validation error detected: Value null at 'startingPosition' failed to satisfy "
                             "constraint: Member must not be null");
  }
  if (!stream && p.contains("StartingPosition")) {
    return invalid_parameter("StartingPosition is not valid for SQS event sources.");
  }
  if (!stream && p.contains("ParallelizationFactor")) {
    return invalid_parameter("Unsupported ParallelizationFactor parameter for given event source mapping type.");
  }
  if (!stream && p.contains("TumblingWindowInSeconds")) {
    return invalid_parameter("Unsupported TumblingWindowInSeconds parameter for given event source mapping type.");
  }
  int batch = p.value("BatchSize", stream ? 100 : 10);
  int max_batch = service == "sqs" ? (p.value("MaximumBatchingWindowInSeconds", 0) > 0 ? 10000 : 10) : 10000;
  if (batch < 1 || batch > max_batch) {
    return invalid_parameter("BatchSize must be between 1 and " + std::to_string(max_batch) + " for this event source.");
  }
  {
    std::lock_guard lock(mappings_mu_);
    for (const auto& [_, m] : mappings_) {
      if (m["EventSourceArn"] == source && m["FunctionArn"] == r.value().invoked_arn) {
        return ServiceError("ResourceConflictException",
                            "The event source arn (\" " + source + " \") and function (\" " +
                                r.value().function->doc["name"].get<std::string>() +
                                " \") provided mapping already exists. Please update or delete the existing mapping "
                                "with UUID " + m["UUID"].get<std::string>(),
                            409);
      }
    }
  }
  std::string uuid = ids::uuid();
  json m{{"UUID", uuid},
         {"account", ctx.account},
         {"region", ctx.region},
         {"EventSourceArn", source},
         {"FunctionArn", r.value().invoked_arn},
         {"BatchSize", batch},
         {"MaximumBatchingWindowInSeconds", p.value("MaximumBatchingWindowInSeconds", 0)},
         {"LastModified", ctx.now_ms / 1000.0},
         {"State", "Creating"},
         {"StateTransitionReason", "USER_INITIATED"},
         {"Enabled", p.value("Enabled", true)},
         {"FunctionResponseTypes", p.value("FunctionResponseTypes", json::array())},
         {"EventSourceMappingArn", ids::arn("lambda", ctx.region, ctx.account, "event-source-mapping:" + uuid)}};
  if (p.contains("FilterCriteria")) m["FilterCriteria"] = p["FilterCriteria"];
  if (stream) {
    m["StartingPosition"] = p["StartingPosition"];
    if (p.contains("StartingPositionTimestamp")) m["StartingPositionTimestamp"] = p["StartingPositionTimestamp"];
    m["ParallelizationFactor"] = p.value("ParallelizationFactor", 1);
    m["MaximumRetryAttempts"] = p.value("MaximumRetryAttempts", -1);
    m["MaximumRecordAgeInSeconds"] = p.value("MaximumRecordAgeInSeconds", -1);
    m["BisectBatchOnFunctionError"] = p.value("BisectBatchOnFunctionError", false);
    m["TumblingWindowInSeconds"] = p.value("TumblingWindowInSeconds", 0);
    m["DestinationConfig"] = p.value("DestinationConfig", json{{"OnFailure", json::object()}});
    m["LastProcessingResult"] = "No records processed";
  } else if (p.contains("ScalingConfig")) {
    m["ScalingConfig"] = p["ScalingConfig"];
  }
  if (Status st = env_->store->put(family_, mapping_key(ctx.account, ctx.region, uuid), m.dump()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  json answer = shown(m);
  {
    std::lock_guard lock(mappings_mu_);
    mappings_[uuid] = m;
    if (m["Enabled"].get<bool>()) {
      start_runner_locked(uuid);
    } else {
      mappings_[uuid]["State"] = "Disabled";
    }
  }
  answer["State"] = m["Enabled"].get<bool>() ? "Creating" : "Disabled";
  return OperationOutput(std::move(answer));
}

LambdaService::Out LambdaService::get_event_source_mapping(RequestContext& ctx, Params& p) {
  std::lock_guard lock(mappings_mu_);
  auto it = mappings_.find(p["UUID"].get<std::string>());
  if (it == mappings_.end() || it->second["account"] != ctx.account) return mapping_not_found(p["UUID"]);
  json out = shown(it->second);
  if (auto r = runners_.find(it->first); r != runners_.end()) {
    if (auto result = r->second->last_result(); !result.empty()) out["LastProcessingResult"] = result;
  }
  return OperationOutput(std::move(out));
}

LambdaService::Out LambdaService::list_event_source_mappings(RequestContext& ctx, Params& p) {
  std::string source = p.value("EventSourceArn", "");
  std::string function;
  if (p.contains("FunctionName")) {
    auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
    if (!r.ok()) return std::move(r).error();
    function = r.value().config->arn;
  }
  std::lock_guard lock(mappings_mu_);
  std::vector<json> rows;
  for (const auto& [_, m] : mappings_) {
    if (m["account"] != ctx.account || m["region"] != ctx.region) continue;
    if (!source.empty() && m["EventSourceArn"] != source) continue;
    if (!function.empty() && m["FunctionArn"].get<std::string>().rfind(function, 0) != 0) continue;
    rows.push_back(shown(m));
  }
  size_t start = p.contains("Marker") ? std::strtoull(p["Marker"].get<std::string>().c_str(), nullptr, 10) : 0;
  size_t max = p.value("MaxItems", 100);
  json page = json::array();
  for (size_t i = start; i < rows.size() && i < start + max; ++i) page.push_back(rows[i]);
  json out{{"EventSourceMappings", std::move(page)}};
  if (start + max < rows.size()) out["NextMarker"] = std::to_string(start + max);
  return OperationOutput(std::move(out));
}

LambdaService::Out LambdaService::update_event_source_mapping(RequestContext& ctx, Params& p) {
  std::string uuid = p["UUID"];
  std::unique_ptr<SourceRunner> old;
  json answer;
  {
    std::lock_guard lock(mappings_mu_);
    auto it = mappings_.find(uuid);
    if (it == mappings_.end() || it->second["account"] != ctx.account) return mapping_not_found(uuid);
    json& m = it->second;
    if (p.contains("FilterCriteria")) {
      if (auto err = check_filter_criteria(p["FilterCriteria"])) return std::move(*err);
    }
    for (const char* stream_only : {"ParallelizationFactor", "TumblingWindowInSeconds"}) {
      if (p.contains(stream_only) && arn_service(m.value("EventSourceArn", "")) == "sqs") {
        return invalid_parameter(std::string("Unsupported ") + stream_only +
                                 " parameter for given event source mapping type.");
      }
    }
    if (p.contains("FunctionName")) {
      auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
      if (!r.ok()) return std::move(r).error();
      m["FunctionArn"] = r.value().invoked_arn;
    }
    for (const char* f : {"BatchSize", "MaximumBatchingWindowInSeconds", "FilterCriteria", "MaximumRetryAttempts",
                          "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "ParallelizationFactor",
                          "DestinationConfig", "FunctionResponseTypes", "ScalingConfig", "TumblingWindowInSeconds"}) {
      if (p.contains(f)) m[f] = p[f];
    }
    if (p.contains("Enabled")) m["Enabled"] = p["Enabled"];
    m["LastModified"] = ctx.now_ms / 1000.0;
    if (Status st = env_->store->put(family_, mapping_key(ctx.account, ctx.region, uuid), m.dump()); !st.is_ok()) {
      return ServiceError::internal(st.to_string());
    }
    if (auto r = runners_.find(uuid); r != runners_.end()) {
      old = std::move(r->second);
      runners_.erase(r);
    }
    bool enabled = m.value("Enabled", true);
    if (enabled) {
      start_runner_locked(uuid);
    } else {
      m["State"] = "Disabled";
    }
    answer = shown(m);
    answer["State"] = enabled ? "Updating" : "Disabling";
  }
  if (old) old->stop();
  return OperationOutput(std::move(answer));
}

LambdaService::Out LambdaService::delete_event_source_mapping(RequestContext& ctx, Params& p) {
  std::string uuid = p["UUID"];
  std::unique_ptr<SourceRunner> old;
  json answer;
  {
    std::lock_guard lock(mappings_mu_);
    auto it = mappings_.find(uuid);
    if (it == mappings_.end() || it->second["account"] != ctx.account) return mapping_not_found(uuid);
    answer = shown(it->second);
    answer["State"] = "Deleting";
    if (Status st = env_->store->del(family_, mapping_key(ctx.account, ctx.region, uuid)); !st.is_ok()) {
      return ServiceError::internal(st.to_string());
    }
    mappings_.erase(it);
    if (auto r = runners_.find(uuid); r != runners_.end()) {
      old = std::move(r->second);
      runners_.erase(r);
    }
  }
  if (old) old->stop();
  return OperationOutput(std::move(answer));
}

}  // namespace sless::services::lambda
