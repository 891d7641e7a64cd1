// The Lambda API: functions, code, configuration, versions, aliases, permissions, concurrency,
// tags, event invoke configs and Invoke.
#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "core/clock.h"
#include "core/config.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "services/delivery.h"
#include "services/lambda/internal.h"
#include "services/registry.h"

namespace sless::services::lambda {

using nlohmann::json;
using protocol::OperationOutput;

namespace {

constexpr size_t kSyncPayloadLimit = 6291456;
constexpr size_t kAsyncPayloadLimit = 1048576;
constexpr int kMaxTimeout = 900;
constexpr int kMaxMemory = 10240;

const std::set<std::string>& reserved_env_keys() {
  static const std::set<std::string> keys = {
      "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
      "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
      "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
      "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
      "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"};
  return keys;
}

std::optional<ServiceError> check_configuration(const json& p) {
  if (p.contains("Runtime") && !supported_runtime(p["Runtime"])) {
    return invalid_parameter("The runtime parameter of " + p["Runtime"].get<std::string>() +
                             " is not supported by sless: functions are C++ plugins; use provided.al2023");
  }
  if (p.contains("Timeout") && p["Timeout"].get<int>() > kMaxTimeout) {
    return ServiceError("ValidationException", "1 validation error detected: Value '" + p["Timeout"].dump() +
                                                   "' at 'timeout' failed to satisfy constraint: Member must have "
                                                   "value less than or equal to 900");
  }
  if (p.contains("MemorySize") && p["MemorySize"].get<int>() > kMaxMemory) {
    return ServiceError("ValidationException", "1 validation error detected: Value '" + p["MemorySize"].dump() +
                                                   "' at 'memorySize' failed to satisfy constraint: Member must have "
                                                   "value less than or equal to 10240");
  }
  if (p.contains("Environment") && p["Environment"].contains("Variables")) {
    const json& variables = p["Environment"]["Variables"];
    // Keys as the API's pattern has them, [a-zA-Z]([a-zA-Z0-9_])+ (the value is not echoed: it
    // may be a secret's name).
    for (const auto& [k, _] : variables.items()) {
      bool ok = k.size() >= 2 && std::isalpha(static_cast<unsigned char>(k[0])) &&
                std::all_of(k.begin() + 1, k.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
      if (!ok) {
        return ServiceError("ValidationException",
                            "1 validation error detected: Value at 'environment.variables' failed to satisfy "
                            "constraint: Map keys must satisfy constraint: [Member must satisfy regular expression "
                            "pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
      }
    }
    // All of them together, as JSON, at most 4 KB.
    if (std::string measured = variables.dump(); measured.size() > 4096) {
      return invalid_parameter("Lambda was unable to configure your environment variables because the environment "
                               "variables you have provided exceeded the 4KB limit. String measured: " + measured);
    }
    std::string used;
    for (const auto& [k, _] : variables.items()) {
      if (reserved_env_keys().count(k)) used += (used.empty() ? "" : ",") + k;
    }
    if (!used.empty()) {
      return invalid_parameter("Lambda was unable to configure your environment variables because the environment "
                               "variables you have provided contains reserved keys that are currently not supported "
                               "for modification. Reserved keys used in this request: " + used);
    }
  }
  return std::nullopt;
}

// An asynchronous invocation's destination: an ARN (the API's pattern; empty means none) of a
// queue, a topic, a function or an event bus, the targets Lambda delivers invocation records to.
std::optional<ServiceError> check_destination(const std::string& arn, const std::string& which) {
  if (arn.empty()) return std::nullopt;
  static const std::regex kPattern(
      R"(arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*))");
  if (!std::regex_match(arn, kPattern)) {
    std::string member = which == "OnSuccess" ? "onSuccess" : "onFailure";
    return ServiceError("ValidationException",
                        "1 validation error detected: Value '" + arn + "' at 'destinationConfig." + member +
                            ".destination' failed to satisfy constraint: Member must satisfy regular expression "
                            "pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-"
                            "\\d{1})?:(\\d{12})?:(.*)");
  }
  std::string service = arn_service(arn);
  if (service != "sqs" && service != "sns" && service != "lambda" && service != "events") {
    return invalid_parameter("The destination ARN " + arn + " is invalid.");
  }
  return std::nullopt;
}

// The configuration fields an API answer shows for a version.
json shown_config(const json& config, const json& doc) {
  json c = config;
  if (doc.contains("dead_letter")) c["DeadLetterConfig"] = doc["dead_letter"];
  return c;
}

std::string qualifier_of(const json& p) { return p.value("Qualifier", ""); }

ServiceError conflict(std::string message) { return ServiceError("ResourceConflictException", std::move(message), 409); }

}  // namespace

LambdaService::LambdaService() { register_operations(); }

void LambdaService::register_operations() {
#define SLESS_LAMBDA_SYNC(op, fn) on_sync(op, [this](RequestContext& ctx, json& p) { return fn(ctx, p); })
  on("CreateFunction", [this](Invocation&& inv) { create_function(std::move(inv)); });
  on("UpdateFunctionCode", [this](Invocation&& inv) { update_function_code(std::move(inv)); });
  on("Invoke", [this](Invocation&& inv) { invoke_api(std::move(inv)); });
  on("InvokeAsync", [this](Invocation&& inv) { invoke_async_api(std::move(inv)); });
  SLESS_LAMBDA_SYNC("UpdateFunctionConfiguration", update_function_configuration);
  SLESS_LAMBDA_SYNC("GetFunction", get_function);
  SLESS_LAMBDA_SYNC("GetFunctionConfiguration", get_function_configuration);
  SLESS_LAMBDA_SYNC("ListFunctions", list_functions);
  SLESS_LAMBDA_SYNC("DeleteFunction", delete_function);
  SLESS_LAMBDA_SYNC("PublishVersion", publish_version);
  SLESS_LAMBDA_SYNC("ListVersionsByFunction", list_versions);
  SLESS_LAMBDA_SYNC("CreateAlias", create_alias);
  SLESS_LAMBDA_SYNC("GetAlias", get_alias);
  SLESS_LAMBDA_SYNC("ListAliases", list_aliases);
  SLESS_LAMBDA_SYNC("UpdateAlias", update_alias);
  SLESS_LAMBDA_SYNC("DeleteAlias", delete_alias);
  SLESS_LAMBDA_SYNC("AddPermission", add_permission);
  SLESS_LAMBDA_SYNC("RemovePermission", remove_permission);
  SLESS_LAMBDA_SYNC("GetPolicy", get_policy);
  SLESS_LAMBDA_SYNC("PutFunctionConcurrency", put_concurrency);
  SLESS_LAMBDA_SYNC("GetFunctionConcurrency", get_concurrency);
  SLESS_LAMBDA_SYNC("DeleteFunctionConcurrency", delete_concurrency);
  SLESS_LAMBDA_SYNC("TagResource", tag_resource);
  SLESS_LAMBDA_SYNC("UntagResource", untag_resource);
  SLESS_LAMBDA_SYNC("ListTags", list_tags);
  on_sync("PutFunctionEventInvokeConfig", [this](RequestContext& c, json& p) { return put_event_invoke_config(c, p, false); });
  on_sync("UpdateFunctionEventInvokeConfig", [this](RequestContext& c, json& p) { return put_event_invoke_config(c, p, true); });
  SLESS_LAMBDA_SYNC("GetFunctionEventInvokeConfig", get_event_invoke_config);
  SLESS_LAMBDA_SYNC("DeleteFunctionEventInvokeConfig", delete_event_invoke_config);
  SLESS_LAMBDA_SYNC("ListFunctionEventInvokeConfigs", list_event_invoke_configs);
  SLESS_LAMBDA_SYNC("GetAccountSettings", get_account_settings);
  SLESS_LAMBDA_SYNC("CreateEventSourceMapping", create_event_source_mapping);
  SLESS_LAMBDA_SYNC("GetEventSourceMapping", get_event_source_mapping);
  SLESS_LAMBDA_SYNC("ListEventSourceMappings", list_event_source_mappings);
  SLESS_LAMBDA_SYNC("UpdateEventSourceMapping", update_event_source_mapping);
  SLESS_LAMBDA_SYNC("DeleteEventSourceMapping", delete_event_source_mapping);
#undef SLESS_LAMBDA_SYNC
}

void LambdaService::create_function(Invocation&& inv) {
  json& p = inv.params;
  RequestContext& ctx = inv.ctx;
  if (p.value("PackageType", "Zip") == "Image") {
    inv.done(invalid_parameter("sless runs functions as C++ plugins: PackageType Image is not supported"));
    return;
  }
  if (!p.contains("Runtime")) {
    inv.done(invalid_parameter("Runtime is required for PackageType Zip (use provided.al2023)"));
    return;
  }
  if (!p.contains("Handler")) {
    inv.done(invalid_parameter("Handler is required for PackageType Zip"));
    return;
  }
  if (auto err = check_configuration(p)) {
    inv.done(std::move(*err));
    return;
  }
  FunctionRef ref = parse_function_ref(p["FunctionName"]);
  if (!ref.valid || !ref.qualifier.empty()) {
    inv.done(ServiceError("ValidationException", "Invalid function name: " + p["FunctionName"].get<std::string>()));
    return;
  }
  std::string name = ref.name;
  std::string arn = function_arn(ctx.region, ctx.account, name);
  if (find(ctx.account, ctx.region, name)) {
    inv.done(conflict("Function already exist: " + name));
    return;
  }
  host_->prepare();  // the zygote starts while the code is read and stored
  auto code = store_code(p["Code"], p["Handler"], ctx);
  if (!code.ok()) {
    inv.done(std::move(code).error());
    return;
  }
  json config{{"FunctionName", name},
              {"FunctionArn", arn},
              {"Runtime", p["Runtime"]},
              {"Role", p["Role"]},
              {"Handler", p["Handler"]},
              {"CodeSize", code.value()["size"]},
              {"Description", p.value("Description", "")},
              {"Timeout", p.value("Timeout", 3)},
              {"MemorySize", p.value("MemorySize", 128)},
              {"LastModified", lambda_timestamp(ctx.now_ms)},
              {"CodeSha256", code.value()["sha256"]},
              {"Version", "$LATEST"},
              {"TracingConfig", json{{"Mode", p.contains("TracingConfig") ? p["TracingConfig"].value("Mode", "PassThrough") : "PassThrough"}}},
              {"RevisionId", ids::uuid()},
              {"State", "Active"},
              {"LastUpdateStatus", "Successful"},
              {"PackageType", "Zip"},
              {"Architectures", p.value("Architectures", json::array({"x86_64"}))},
              {"EphemeralStorage", p.value("EphemeralStorage", json{{"Size", 512}})},
              {"SnapStart", json{{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}},
              {"LoggingConfig", json{{"LogFormat", "Text"}, {"LogGroup", "/aws/lambda/" + name}}}};
  if (p.contains("Environment")) config["Environment"] = json{{"Variables", p["Environment"].value("Variables", json::object())}};
  if (p.contains("DeadLetterConfig") && p["DeadLetterConfig"].contains("TargetArn")) {
    config["DeadLetterConfig"] = p["DeadLetterConfig"];
  }
  if (p.contains("KMSKeyArn")) config["KMSKeyArn"] = p["KMSKeyArn"];
  json doc{{"account", ctx.account}, {"region", ctx.region}, {"name", name}, {"endpoint", ctx.endpoint},
           {"config", config}, {"code", code.value()}, {"versions", json::object()}, {"next_version", 1},
           {"aliases", json::object()}, {"policy", json::array()}, {"concurrency", nullptr},
           {"tags", p.value("Tags", json::object())}, {"invoke_configs", json::object()}};
  auto fn = std::make_shared<Function>();
  fn->doc = std::move(doc);
  refresh_configs(*fn);
  bool publish = p.value("Publish", false);
  // The plugin must load before the function exists: a clear error now beats a failing invoke later.
  prove(fn->configs["$LATEST"], [this, fn, publish, done = std::move(inv.done), ctx](std::optional<std::string> error) mutable {
    if (error) {
      done(invalid_parameter("The function's plugin cannot be loaded: " + *error));
      return;
    }
    std::lock_guard map_lock(mu_);
    std::string k = ctx.account + "/" + ctx.region + "/" + fn->doc["name"].get<std::string>();
    if (functions_.count(k)) {
      done(conflict("Function already exist: " + fn->doc["name"].get<std::string>()));
      return;
    }
    std::lock_guard lock(fn->mu);
    json shown = fn->doc["config"];
    if (publish) {
      std::string v = "1";
      json snap{{"config", fn->doc["config"]}, {"code", fn->doc["code"]}};
      snap["config"]["Version"] = v;
      snap["config"]["FunctionArn"] = fn->doc["config"]["FunctionArn"].get<std::string>() + ":" + v;
      fn->doc["versions"][v] = snap;
      fn->doc["next_version"] = 2;
      shown = snap["config"];
      refresh_configs(*fn);
    }
    if (Status st = save(*fn); !st.is_ok()) {
      done(ServiceError::internal(st.to_string()));
      return;
    }
    functions_[k] = fn;
    if (fn->doc["code"].contains("watch")) {
      std::string path = fn->doc["code"]["watch"];
      watched_[path].insert(k);
      watcher()->watch(path);
    }
    done(OperationOutput(shown_config(shown, fn->doc)));
  });
}

void LambdaService::update_function_code(Invocation&& inv) {
  json& p = inv.params;
  RequestContext& ctx = inv.ctx;
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) {
    inv.done(std::move(r).error());
    return;
  }
  auto fn = r.value().function;
  std::string handler;
  {
    std::lock_guard lock(fn->mu);
    if (p.contains("RevisionId") && p["RevisionId"] != fn->doc["config"]["RevisionId"]) {
      inv.done(ServiceError("PreconditionFailedException",
                            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
                            "GetAlias API to retrieve the latest Revision Id",
                            412));
      return;
    }
    handler = fn->doc["config"]["Handler"];
  }
  auto code = store_code(p, handler, ctx);
  if (!code.ok()) {
    inv.done(std::move(code).error());
    return;
  }
  if (p.value("DryRun", false)) {
    std::lock_guard lock(fn->mu);
    json c = fn->doc["config"];
    c["CodeSha256"] = code.value()["sha256"];
    c["CodeSize"] = code.value()["size"];
    inv.done(OperationOutput(c));
    return;
  }
  json candidate;
  {
    std::lock_guard lock(fn->mu);
    candidate = fn->doc;
  }
  candidate["code"] = code.value();
  candidate["config"]["CodeSha256"] = code.value()["sha256"];
  candidate["config"]["CodeSize"] = code.value()["size"];
  candidate["config"]["RevisionId"] = ids::uuid();
  candidate["config"]["LastModified"] = lambda_timestamp(ctx.now_ms);
  bool publish = p.value("Publish", false);
  probe(make_config(candidate, "$LATEST", candidate),
        [this, fn, candidate, publish, done = std::move(inv.done), ctx](std::optional<std::string> error) mutable {
          if (error) {
            done(invalid_parameter("The function's plugin cannot be loaded: " + *error));
            return;
          }
          std::string old_key;
          json shown;
          {
            std::lock_guard lock(fn->mu);
            old_key = fn->configs["$LATEST"]->key;
            std::string old_watch = fn->doc["code"].value("watch", "");
            fn->doc["code"] = candidate["code"];
            fn->doc["config"] = candidate["config"];
            shown = fn->doc["config"];
            if (publish) {
              std::string v = std::to_string(fn->doc.value("next_version", 1));
              json snap{{"config", fn->doc["config"]}, {"code", fn->doc["code"]}};
              snap["config"]["Version"] = v;
              snap["config"]["FunctionArn"] = fn->doc["config"]["FunctionArn"].get<std::string>() + ":" + v;
              fn->doc["versions"][v] = snap;
              fn->doc["next_version"] = std::stoi(v) + 1;
              shown = snap["config"];
            }
            refresh_configs(*fn);
            if (Status st = save(*fn); !st.is_ok()) {
              done(ServiceError::internal(st.to_string()));
              return;
            }
            if (fn->doc["code"].contains("watch")) {
              std::string path = fn->doc["code"]["watch"];
              if (path != old_watch) {
                watch_code(fn->doc["account"], fn->doc["region"], fn->doc["name"], path);
              }
            }
          }
          host_->retire(old_key);
          done(OperationOutput(shown));
        });
}

LambdaService::Out LambdaService::update_function_configuration(RequestContext& ctx, Params& p) {
  if (auto err = check_configuration(p)) return std::move(*err);
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::string old_key;
  json shown;
  {
    std::lock_guard lock(fn->mu);
    json& c = fn->doc["config"];
    if (p.contains("RevisionId") && p["RevisionId"] != c["RevisionId"]) {
      return ServiceError("PreconditionFailedException",
                          "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/"
                          "GetAlias API to retrieve the latest Revision Id",
                          412);
    }
    for (const char* f : {"Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime", "KMSKeyArn",
                          "EphemeralStorage"}) {
      if (p.contains(f)) c[f] = p[f];
    }
    if (p.contains("Environment")) c["Environment"] = json{{"Variables", p["Environment"].value("Variables", json::object())}};
    if (p.contains("TracingConfig")) c["TracingConfig"] = json{{"Mode", p["TracingConfig"].value("Mode", "PassThrough")}};
    if (p.contains("DeadLetterConfig")) {
      if (p["DeadLetterConfig"].contains("TargetArn") && !p["DeadLetterConfig"]["TargetArn"].get<std::string>().empty()) {
        c["DeadLetterConfig"] = p["DeadLetterConfig"];
      } else {
        c.erase("DeadLetterConfig");
      }
    }
    if (p.contains("LoggingConfig")) c["LoggingConfig"].update(p["LoggingConfig"]);
    c["RevisionId"] = ids::uuid();
    c["LastModified"] = lambda_timestamp(ctx.now_ms);
    c["LastUpdateStatus"] = "Successful";
    old_key = fn->configs["$LATEST"]->key;
    refresh_configs(*fn);
    if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
    shown = c;
  }
  host_->retire(old_key);
  return OperationOutput(shown);
}

LambdaService::Out LambdaService::get_function(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  const json& snap = r.value().version == "$LATEST" ? fn->doc : fn->doc["versions"][r.value().version];
  json out{{"Configuration", shown_config(snap["config"], fn->doc)},
           {"Code", json{{"RepositoryType", "S3"},
                         {"Location", ctx.endpoint + "/_sless/lambda/code/" + fn->doc["account"].get<std::string>() +
                                          "/" + fn->doc["region"].get<std::string>() + "/" +
                                          fn->doc["name"].get<std::string>() + "/" + r.value().version}}}};
  if (!fn->doc["tags"].empty()) out["Tags"] = fn->doc["tags"];
  if (fn->doc["concurrency"].is_number()) out["Concurrency"] = json{{"ReservedConcurrentExecutions", fn->doc["concurrency"]}};
  return OperationOutput(std::move(out));
}

LambdaService::Out LambdaService::get_function_configuration(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  const json& snap = r.value().version == "$LATEST" ? fn->doc : fn->doc["versions"][r.value().version];
  return OperationOutput(shown_config(snap["config"], fn->doc));
}

LambdaService::Out LambdaService::list_functions(RequestContext& ctx, Params& p) {
  std::vector<std::shared_ptr<Function>> fns;
  {
    std::lock_guard lock(mu_);
    std::string prefix = ctx.account + "/" + ctx.region + "/";
    for (const auto& [k, fn] : functions_) {
      if (k.compare(0, prefix.size(), prefix) == 0) fns.push_back(fn);
    }
  }
  std::vector<std::pair<std::string, json>> rows;
  bool all_versions = p.value("FunctionVersion", "") == "ALL";
  for (const auto& fn : fns) {
    std::lock_guard lock(fn->mu);
    std::string name = fn->doc["name"];
    rows.emplace_back(name + "\x01", shown_config(fn->doc["config"], fn->doc));
    if (all_versions) {
      for (const auto& [v, snap] : fn->doc["versions"].items()) {
        rows.emplace_back(name + "\x02" + std::string(10 - std::min<size_t>(10, v.size()), '0') + v, snap["config"]);
      }
    }
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t start = 0;
  if (p.contains("Marker")) start = std::strtoull(p["Marker"].get<std::string>().c_str(), nullptr, 10);
  size_t max = p.value("MaxItems", 50);
  json list = json::array();
  for (size_t i = start; i < rows.size() && i < start + max; ++i) list.push_back(rows[i].second);
  json out{{"Functions", std::move(list)}};
  if (start + max < rows.size()) out["NextMarker"] = std::to_string(start + max);
  return OperationOutput(std::move(out));
}

LambdaService::Out LambdaService::delete_function(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::string qualifier = qualifier_of(p);
  if (qualifier.empty()) {
    FunctionRef ref = parse_function_ref(p["FunctionName"]);
    qualifier = ref.qualifier;
  }
  std::string arn;
  {
    std::lock_guard lock(fn->mu);
    arn = fn->doc["config"]["FunctionArn"];
    if (!qualifier.empty() && qualifier != "$LATEST") {
      // Deletes one version.
      if (!fn->doc["versions"].contains(qualifier)) return function_not_found(arn + ":" + qualifier);
      for (const auto& [a, alias] : fn->doc["aliases"].items()) {
        if (alias["FunctionVersion"] == qualifier) {
          return conflict("Unable to delete version because the following aliases reference it: [" + a + "]");
        }
      }
      std::string key = fn->configs[qualifier]->key;
      fn->doc["versions"].erase(qualifier);
      refresh_configs(*fn);
      if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
      host_->retire(key);
      return OperationOutput(json{{"StatusCode", 204}});
    }
    if (qualifier == "$LATEST") {
      return invalid_parameter("$LATEST version cannot be deleted without deleting the function.");
    }
    if (Status st = remove(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  }
  {
    std::lock_guard lock(mu_);
    functions_.erase(ctx.account + "/" + ctx.region + "/" + fn->doc["name"].get<std::string>());
  }
  host_->retire_prefix(arn + ":");
  return OperationOutput(json{{"StatusCode", 204}});
}

LambdaService::Out LambdaService::publish_version(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  json& c = fn->doc["config"];
  if (p.contains("CodeSha256") && p["CodeSha256"] != c["CodeSha256"]) {
    return invalid_parameter("CodeSHA256 (" + p["CodeSha256"].get<std::string>() +
                             ") is different from current CodeSHA256 in $LATEST (" + c["CodeSha256"].get<std::string>() +
                             "). Please try again with the CodeSHA256 in $LATEST.");
  }
  if (p.contains("RevisionId") && p["RevisionId"] != c["RevisionId"]) {
    return ServiceError("PreconditionFailedException",
                        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                        "API to retrieve the latest Revision Id",
                        412);
  }
  // Publishing unchanged code and configuration returns the latest version instead of a new one.
  for (const auto& [v, snap] : fn->doc["versions"].items()) {
    json a = snap["config"];
    json b = c;
    for (json* x : {&a, &b}) {
      x->erase("Version");
      x->erase("FunctionArn");
      x->erase("RevisionId");
      x->erase("LastModified");
      x->erase("Description");
    }
    if (a == b && snap["code"]["sha256"] == fn->doc["code"]["sha256"]) {
      int latest_version = fn->doc.value("next_version", 1) - 1;
      if (std::to_string(latest_version) == v) return OperationOutput(snap["config"]);
    }
  }
  std::string v = std::to_string(fn->doc.value("next_version", 1));
  json snap{{"config", c}, {"code", fn->doc["code"]}};
  snap["config"]["Version"] = v;
  snap["config"]["FunctionArn"] = c["FunctionArn"].get<std::string>() + ":" + v;
  snap["config"]["RevisionId"] = ids::uuid();
  if (p.contains("Description")) snap["config"]["Description"] = p["Description"];
  fn->doc["versions"][v] = snap;
  fn->doc["next_version"] = std::stoi(v) + 1;
  refresh_configs(*fn);
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput(snap["config"]);
}

LambdaService::Out LambdaService::list_versions(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  std::vector<std::pair<int, json>> versions;
  for (const auto& [v, snap] : fn->doc["versions"].items()) versions.emplace_back(std::stoi(v), snap["config"]);
  std::sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json all = json::array({shown_config(fn->doc["config"], fn->doc)});
  for (auto& [_, c] : versions) all.push_back(std::move(c));
  size_t start = p.contains("Marker") ? std::strtoull(p["Marker"].get<std::string>().c_str(), nullptr, 10) : 0;
  size_t max = p.value("MaxItems", 50);
  json page = json::array();
  for (size_t i = start; i < all.size() && i < start + max; ++i) page.push_back(all[i]);
  json out{{"Versions", std::move(page)}};
  if (start + max < all.size()) out["NextMarker"] = std::to_string(start + max);
  return OperationOutput(std::move(out));
}

namespace {

std::optional<ServiceError> check_routing(const json& doc, const json& p) {
  if (!p.contains("RoutingConfig") || !p["RoutingConfig"].contains("AdditionalVersionWeights")) return std::nullopt;
  const json& w = p["RoutingConfig"]["AdditionalVersionWeights"];
  if (w.size() > 1) return invalid_parameter("Number of items in AdditionalVersionWeights cannot be greater than 1");
  for (const auto& [v, weight] : w.items()) {
    if (!doc["versions"].contains(v)) return ServiceError("ResourceNotFoundException", "Function not found: " + doc["config"]["FunctionArn"].get<std::string>() + ":" + v, 404);
    if (p.contains("FunctionVersion") && v == p["FunctionVersion"]) {
      return invalid_parameter("Invalid function version " + v + ". Function version " + v +
                               " is already included in routing configuration.");
    }
    double d = weight.get<double>();
    if (d < 0.0 || d > 1.0) return invalid_parameter("Weights must be between 0.0 and 1.0");
  }
  return std::nullopt;
}

}  // namespace

LambdaService::Out LambdaService::create_alias(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  std::string name = p["Name"];
  std::string version = p["FunctionVersion"];
  std::string arn = fn->doc["config"]["FunctionArn"];
  if (fn->doc["aliases"].contains(name)) return conflict("Alias already exists: " + arn + ":" + name);
  if (version != "$LATEST" && !fn->doc["versions"].contains(version)) return function_not_found(arn + ":" + version);
  if (auto err = check_routing(fn->doc, p)) return std::move(*err);
  json alias{{"AliasArn", arn + ":" + name}, {"Name", name}, {"FunctionVersion", version},
             {"Description", p.value("Description", "")}, {"RevisionId", ids::uuid()}};
  if (p.contains("RoutingConfig")) alias["RoutingConfig"] = p["RoutingConfig"];
  fn->doc["aliases"][name] = alias;
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput(alias);
}

LambdaService::Out LambdaService::get_alias(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  std::string name = p["Name"];
  if (!fn->doc["aliases"].contains(name)) {
    return ServiceError("ResourceNotFoundException",
                        "Cannot find alias arn: " + fn->doc["config"]["FunctionArn"].get<std::string>() + ":" + name, 404);
  }
  return OperationOutput(fn->doc["aliases"][name]);
}

LambdaService::Out LambdaService::list_aliases(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  json list = json::array();
  std::string version = p.value("FunctionVersion", "");
  for (const auto& [_, alias] : fn->doc["aliases"].items()) {
    if (version.empty() || alias["FunctionVersion"] == version) list.push_back(alias);
  }
  return OperationOutput(json{{"Aliases", std::move(list)}});
}

LambdaService::Out LambdaService::update_alias(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  std::string name = p["Name"];
  std::string arn = fn->doc["config"]["FunctionArn"];
  if (!fn->doc["aliases"].contains(name)) {
    return ServiceError("ResourceNotFoundException", "Cannot find alias arn: " + arn + ":" + name, 404);
  }
  json& alias = fn->doc["aliases"][name];
  if (p.contains("RevisionId") && p["RevisionId"] != alias["RevisionId"]) {
    return ServiceError("PreconditionFailedException",
                        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                        "API to retrieve the latest Revision Id",
                        412);
  }
  if (p.contains("FunctionVersion")) {
    std::string version = p["FunctionVersion"];
    if (version != "$LATEST" && !fn->doc["versions"].contains(version)) return function_not_found(arn + ":" + version);
  }
  json check = p;
  if (!check.contains("FunctionVersion")) check["FunctionVersion"] = alias["FunctionVersion"];
  if (auto err = check_routing(fn->doc, check)) return std::move(*err);
  for (const char* f : {"FunctionVersion", "Description", "RoutingConfig"}) {
    if (p.contains(f)) alias[f] = p[f];
  }
  alias["RevisionId"] = ids::uuid();
  json out = alias;
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput(out);
}

LambdaService::Out LambdaService::delete_alias(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  fn->doc["aliases"].erase(p["Name"].get<std::string>());
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

namespace {

// AddPermission's members that the API constrains by pattern, checked in the API's order, with its
// ValidationException for the first one that does not match.
std::optional<ServiceError> check_permission(const json& p) {
  struct Rule {
    const char* param;
    const char* member;
    const char* pattern;
  };
  static const Rule kRules[] = {
      {"StatementId", "statementId", R"(([a-zA-Z0-9-_.]+))"},
      {"Action", "action", R"((lambda:[*]|lambda:[a-zA-Z]+|[*]))"},
      {"Principal", "principal", R"([^\s]+)"},
      {"SourceArn", "sourceArn", R"(arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*))"},
      {"SourceAccount", "sourceAccount", R"(\d{12})"},
  };
  static const std::vector<std::regex> kCompiled = [] {
    std::vector<std::regex> out;
    for (const Rule& rule : kRules) out.emplace_back(rule.pattern);
    return out;
  }();
  for (size_t i = 0; i < std::size(kRules); ++i) {
    auto it = p.find(kRules[i].param);
    if (it == p.end() || !it->is_string()) continue;
    const std::string& value = it->get_ref<const std::string&>();
    if (!std::regex_match(value, kCompiled[i])) {
      return ServiceError("ValidationException", "1 validation error detected: Value '" + value + "' at '" +
                                                     kRules[i].member +
                                                     "' failed to satisfy constraint: Member must satisfy regular "
                                                     "expression pattern: " + kRules[i].pattern);
    }
  }
  return std::nullopt;
}

}  // namespace

LambdaService::Out LambdaService::add_permission(RequestContext& ctx, Params& p) {
  if (auto err = check_permission(p)) return std::move(*err);
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  std::string sid = p["StatementId"];
  for (const auto& s : fn->doc["policy"]) {
    if (s["Sid"] == sid) {
      return conflict("The statement id (" + sid + ") provided already exists. Please provide a new statement id, or "
                      "remove the existing statement.");
    }
  }
  std::string principal = p["Principal"];
  json statement{{"Sid", sid},
                 {"Effect", "Allow"},
                 {"Principal", principal.find('.') != std::string::npos ? json{{"Service", principal}}
                               : principal == "*"                       ? json("*")
                                                                         : json{{"AWS", principal}}},
                 {"Action", p["Action"]},
                 {"Resource", r.value().invoked_arn}};
  json condition = json::object();
  if (p.contains("SourceArn")) condition["ArnLike"] = json{{"AWS:SourceArn", p["SourceArn"]}};
  if (p.contains("SourceAccount")) condition["StringEquals"] = json{{"AWS:SourceAccount", p["SourceAccount"]}};
  if (p.contains("PrincipalOrgID")) condition["StringEquals"]["aws:PrincipalOrgID"] = p["PrincipalOrgID"];
  if (!condition.empty()) statement["Condition"] = condition;
  fn->doc["policy"].push_back(statement);
  fn->doc["policy_revision"] = ids::uuid();
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput(json{{"Statement", statement.dump()}});
}

LambdaService::Out LambdaService::remove_permission(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  json& policy = fn->doc["policy"];
  std::string sid = p["StatementId"];
  auto it = std::find_if(policy.begin(), policy.end(), [&](const json& s) { return s["Sid"] == sid; });
  if (it == policy.end()) {
    return ServiceError("ResourceNotFoundException", "Statement " + sid + " is not found in resource policy.", 404);
  }
  policy.erase(it);
  fn->doc["policy_revision"] = ids::uuid();
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

LambdaService::Out LambdaService::get_policy(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  if (fn->doc["policy"].empty()) {
    return ServiceError("ResourceNotFoundException", "The resource you requested does not exist.", 404);
  }
  json policy{{"Version", "2012-10-17"}, {"Id", "default"}, {"Statement", fn->doc["policy"]}};
  return OperationOutput(json{{"Policy", policy.dump()}, {"RevisionId", fn->doc.value("policy_revision", "")}});
}

LambdaService::Out LambdaService::put_concurrency(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  int n = p["ReservedConcurrentExecutions"];
  std::vector<std::string> old_keys;
  {
    std::lock_guard lock(fn->mu);
    for (const auto& [_, c] : fn->configs) old_keys.push_back(c->key);
    fn->doc["concurrency"] = n;
    refresh_configs(*fn);
    if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  }
  for (const auto& k : old_keys) host_->retire(k);
  return OperationOutput(json{{"ReservedConcurrentExecutions", n}});
}

LambdaService::Out LambdaService::get_concurrency(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  json out = json::object();
  if (fn->doc["concurrency"].is_number()) out["ReservedConcurrentExecutions"] = fn->doc["concurrency"];
  return OperationOutput(std::move(out));
}

LambdaService::Out LambdaService::delete_concurrency(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::vector<std::string> old_keys;
  {
    std::lock_guard lock(fn->mu);
    for (const auto& [_, c] : fn->configs) old_keys.push_back(c->key);
    fn->doc["concurrency"] = nullptr;
    refresh_configs(*fn);
    if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  }
  for (const auto& k : old_keys) host_->retire(k);
  return OperationOutput();
}

LambdaService::Out LambdaService::tag_resource(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["Resource"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  for (const auto& [k, v] : p["Tags"].items()) fn->doc["tags"][k] = v;
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

LambdaService::Out LambdaService::untag_resource(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["Resource"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  for (const auto& k : p["TagKeys"]) fn->doc["tags"].erase(k.get<std::string>());
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

LambdaService::Out LambdaService::list_tags(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["Resource"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  return OperationOutput(json{{"Tags", fn->doc["tags"]}});
}

LambdaService::Out LambdaService::put_event_invoke_config(RequestContext& ctx, Params& p, bool update) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  std::string q = qualifier_of(p).empty() ? "$LATEST" : qualifier_of(p);
  json& configs = fn->doc["invoke_configs"];
  if (update && !configs.contains(q)) {
    return ServiceError("ResourceNotFoundException",
                        "The function " + r.value().invoked_arn + " doesn't have an EventInvokeConfig", 404);
  }
  json c = update ? configs[q] : json::object();
  for (const char* f : {"MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"}) {
    if (p.contains(f)) c[f] = p[f];
  }
  if (c.contains("MaximumEventAgeInSeconds") && c["MaximumEventAgeInSeconds"].get<int>() < 60) {
    return invalid_parameter("MaximumEventAgeInSeconds must be between 60 and 21600");
  }
  if (c.contains("DestinationConfig")) {
    for (const char* d : {"OnSuccess", "OnFailure"}) {
      const json& dest = c["DestinationConfig"].contains(d) ? c["DestinationConfig"][d] : json();
      if (!dest.is_object() || !dest.contains("Destination") || !dest["Destination"].is_string()) continue;
      if (auto err = check_destination(dest["Destination"].get<std::string>(), d)) return std::move(*err);
    }
  }
  if (!c.contains("DestinationConfig")) c["DestinationConfig"] = json{{"OnSuccess", json::object()}, {"OnFailure", json::object()}};
  for (const char* d : {"OnSuccess", "OnFailure"}) {
    if (!c["DestinationConfig"].contains(d)) c["DestinationConfig"][d] = json::object();
  }
  c["LastModified"] = ctx.now_ms / 1000.0;
  c["FunctionArn"] = r.value().invoked_arn;
  configs[q] = c;
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput(c);
}

LambdaService::Out LambdaService::get_event_invoke_config(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  std::string q = qualifier_of(p).empty() ? "$LATEST" : qualifier_of(p);
  if (!fn->doc["invoke_configs"].contains(q)) {
    return ServiceError("ResourceNotFoundException",
                        "The function " + r.value().invoked_arn + " doesn't have an EventInvokeConfig", 404);
  }
  return OperationOutput(fn->doc["invoke_configs"][q]);
}

LambdaService::Out LambdaService::delete_event_invoke_config(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  std::string q = qualifier_of(p).empty() ? "$LATEST" : qualifier_of(p);
  if (!fn->doc["invoke_configs"].contains(q)) {
    return ServiceError("ResourceNotFoundException",
                        "The function " + r.value().invoked_arn + " doesn't have an EventInvokeConfig", 404);
  }
  fn->doc["invoke_configs"].erase(q);
  if (Status st = save(*fn); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

LambdaService::Out LambdaService::list_event_invoke_configs(RequestContext& ctx, Params& p) {
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) return std::move(r).error();
  auto fn = r.value().function;
  std::lock_guard lock(fn->mu);
  json list = json::array();
  for (const auto& [_, c] : fn->doc["invoke_configs"].items()) list.push_back(c);
  return OperationOutput(json{{"FunctionEventInvokeConfigs", std::move(list)}});
}

LambdaService::Out LambdaService::get_account_settings(RequestContext& ctx, Params&) {
  size_t count = 0;
  int64_t code_size = 0;
  {
    std::lock_guard lock(mu_);
    std::string prefix = ctx.account + "/" + ctx.region + "/";
    for (const auto& [k, fn] : functions_) {
      if (k.compare(0, prefix.size(), prefix) != 0) continue;
      ++count;
      std::lock_guard fl(fn->mu);
      code_size += fn->doc["code"].value("size", int64_t{0});
    }
  }
  return OperationOutput(json{
      {"AccountLimit", json{{"TotalCodeSize", 80530636800LL}, {"CodeSizeUnzipped", 262144000},
                            {"CodeSizeZipped", 52428800}, {"ConcurrentExecutions", 1000},
                            {"UnreservedConcurrentExecutions", 1000}}},
      {"AccountUsage", json{{"TotalCodeSize", code_size}, {"FunctionCount", count}}}});
}

void LambdaService::invoke_api(Invocation&& inv) {
  json& p = inv.params;
  RequestContext& ctx = inv.ctx;
  std::string type = p.value("InvocationType", "RequestResponse");
  // The body is not read again once the operation runs: take it rather than copy it.
  std::string payload = inv.request ? std::move(inv.request->body) : std::string();
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], qualifier_of(p));
  if (!r.ok()) {
    inv.done(std::move(r).error());
    return;
  }
  size_t limit = type == "Event" ? kAsyncPayloadLimit : kSyncPayloadLimit;
  if (payload.size() > limit) {
    inv.done(ServiceError("RequestTooLargeException",
                          "Request must be smaller than " + std::to_string(limit) + " bytes for the InvokeFunction operation",
                          413));
    return;
  }
  if (payload.empty()) payload = "{}";
  if (!json::accept(payload)) {  // validated without building the document
    inv.done(ServiceError("InvalidRequestContentException", "Could not parse request body into json: Could not parse "
                                                            "payload into json: Unexpected character",
                          400));
    return;
  }
  const Resolved& target = r.value();
  if (type == "DryRun") {
    inv.done(OperationOutput(json{{"StatusCode", 204}}));
    return;
  }
  if (type == "Event") {
    if (Status st = queue_event(target, payload, ctx.request_id); !st.is_ok()) {
      inv.done(ServiceError::internal(st.to_string()));
      return;
    }
    inv.done(OperationOutput(json{{"StatusCode", 202}}));
    return;
  }
  host::InvokeRequest req;
  req.request_id = ctx.request_id;
  req.payload = std::move(payload);
  req.invoked_arn = target.invoked_arn;
  if (p.contains("ClientContext")) {
    auto decoded = enc::base64_decode(p["ClientContext"].get<std::string>());
    req.client_context = decoded ? *decoded : std::string();
  }
  req.throttle = true;
  bool tail = p.value("LogType", "None") == "Tail";
  std::string version = target.version;
  host_->invoke(target.config, std::move(req),
                [done = std::move(inv.done), tail, version](host::InvokeResult res) {
                  if (res.kind == host::InvokeResult::Kind::kThrottled) {
                    ServiceError e("TooManyRequestsException", "Rate Exceeded.", 429);
                    e.fields["Reason"] = "ReservedFunctionConcurrentInvocationLimitExceeded";
                    e.fields["Type"] = "User";
                    done(std::move(e));
                    return;
                  }
                  OperationOutput out(json{{"StatusCode", 200}, {"ExecutedVersion", version}});
                  if (res.kind == host::InvokeResult::Kind::kFunctionError) out.result["FunctionError"] = "Unhandled";
                  if (tail) {
                    std::string log = res.log.size() > 4096 ? res.log.substr(res.log.size() - 4096) : res.log;
                    out.result["LogResult"] = enc::base64_encode(log);
                  }
                  out.raw_payload = std::move(res.payload);
                  done(std::move(out));
                });
}

void LambdaService::invoke_async_api(Invocation&& inv) {
  json& p = inv.params;
  RequestContext& ctx = inv.ctx;
  auto r = resolve(ctx.account, ctx.region, p["FunctionName"], "");
  if (!r.ok()) {
    inv.done(std::move(r).error());
    return;
  }
  std::string payload = inv.request ? inv.request->body : std::string();
  if (payload.empty()) payload = "{}";
  if (Status st = queue_event(r.value(), payload, ctx.request_id); !st.is_ok()) {
    inv.done(ServiceError::internal(st.to_string()));
    return;
  }
  inv.done(OperationOutput(json{{"Status", 202}}));
}

}  // namespace sless::services::lambda
