// Deploying a plan: resolve each resource's properties in dependency order (resources of one
// level in parallel), compare them with the stack's last deployment (kept in the "stacks"
// column family), and create, replace or delete what differs. A failed step rolls back what this
// deployment created; the stack's state then records what really exists.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "protocol/model.h"
#include "services/registry.h"
#include "stack/intrinsics.h"
#include "stack/resource_types.h"
#include "stack/stack.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::stack {

using nlohmann::json;

namespace {

json to_json(const Deployed& d, const std::string& type, const json& props, int order) {
  return json{{"type", type}, {"physical", d.physical_id}, {"attributes", d.attributes}, {"data", d.data},
              {"props", props}, {"order", order}};
}

Deployed from_json(const json& j) {
  Deployed d;
  d.physical_id = j.value("physical", "");
  d.attributes = j.value("attributes", json::object());
  d.data = j.value("data", json::object());
  return d;
}

}  // namespace

void preload_models(const StackOptions& options) {
  auto plan = plan_stack(options, nullptr);
  if (!plan.ok()) return;
  std::vector<std::string_view> models;
  for (const auto& r : plan.value().resources) {
    const ResourceType* type = find_resource_type(r.type);
    if (!type) continue;
    for (const auto& [model, _] : type->requires_ops) {
      if (std::find(models.begin(), models.end(), model) == models.end()) models.emplace_back(model);
    }
  }
  for (std::string_view model : models) (void)protocol::ModelRegistry::instance().get(model);
}

Result<DeployReport> deploy_stack(const Plan& plan, services::Registry& registry, storage::Store& store) {
  const StackOptions& o = plan.options;
  storage::Family* family = store.family("stacks");
  if (!family) return Status::internal("cannot open the stacks column family");
  std::string key = storage::key::KeyBuilder(o.account, o.region).str("stack").str(plan.stack_name).take();
  json old_state = json{{"resources", json::object()}};
  {
    std::string raw;
    Status st = store.get(family, key, &raw);
    if (st.is_ok()) {
      json parsed = json::parse(raw, nullptr, false);
      if (parsed.is_object() && parsed.contains("resources")) old_state = std::move(parsed);
    } else if (!st.is_not_found()) {
      return st;
    }
  }
  const json& old = old_state["resources"];

  Provisioner prov(registry, o.account, o.region, o.endpoint, plan.stack_name, plan.template_dir);
  std::mutex mu;  // guards everything below that the workers of a level share
  json state = json::object();  // the new state, by logical id
  std::map<std::string, Deployed> live;
  std::vector<std::string> created;  // by this deployment, for rollback
  std::vector<std::string> changes;
  std::string failure;

  Scope scope;
  scope.parameters = plan.parameters;
  scope.parameters["AWS::Region"] = o.region;
  scope.parameters["AWS::AccountId"] = o.account;
  scope.parameters["AWS::StackName"] = plan.stack_name;
  scope.parameters["AWS::StackId"] = "arn:aws:cloudformation:" + o.region + ":" + o.account + ":stack/" + plan.stack_name + "/sless";
  scope.parameters["AWS::Partition"] = "aws";
  scope.parameters["AWS::URLSuffix"] = "amazonaws.com";
  scope.parameters["AWS::NotificationARNs"] = json::array();
  scope.conditions = &plan.conditions;
  scope.mappings = &plan.mappings;
  scope.region = o.region;
  scope.ref = [&](const std::string& name) -> std::optional<json> {
    std::lock_guard lock(mu);
    auto it = live.find(name);
    if (it == live.end()) return std::nullopt;
    return json(it->second.physical_id);
  };
  scope.get_att = [&](const std::string& name, const std::string& attr) -> std::optional<json> {
    std::lock_guard lock(mu);
    auto it = live.find(name);
    if (it == live.end() || !it->second.attributes.contains(attr)) return std::nullopt;
    return it->second.attributes[attr];
  };

  auto deploy_one = [&](const PlannedResource& r, int order) {
    std::string at = "Resources." + r.logical_id + (r.line ? " (line " + std::to_string(r.line) + ")" : "");
    const ResourceType* type = find_resource_type(r.type);
    auto props = resolve(r.properties, scope);
    if (!props.ok()) {
      std::lock_guard lock(mu);
      failure = at + ": " + props.status().message();
      return;
    }
    // The plan checked what it could see; an intrinsic function may resolve to anything.
    if (props.value().is_null()) props = json::object();
    if (!props.value().is_object()) {
      std::lock_guard lock(mu);
      failure = at + ": Properties must be a mapping, not " + props.value().dump();
      return;
    }
    if (auto bad = property_kind_error(*type, props.value())) {
      std::lock_guard lock(mu);
      failure = at + ": " + bad->second;
      return;
    }
    const json* before = old.contains(r.logical_id) ? &old[r.logical_id] : nullptr;
    if (before && before->value("type", "") == r.type && (*before)["props"] == props.value()) {
      std::lock_guard lock(mu);
      live[r.logical_id] = from_json(*before);
      state[r.logical_id] = to_json(live[r.logical_id], r.type, props.value(), order);
      return;
    }
    Deployed previous;
    bool replace_in_place = false;
    if (before) {
      previous = from_json(*before);
      const ResourceType* old_type = find_resource_type(before->value("type", ""));
      if (old_type == type && type->update_in_place) {
        replace_in_place = true;
      } else if (old_type) {
        if (Status st = old_type->remove(prov, previous); !st.is_ok()) {
          log::warn("stack: removing the old {} failed: {}", r.logical_id, st.message());
        }
      }
    }
    const auto began = std::chrono::steady_clock::now();
    // A value nested deeper than the property kinds reach may still have a type a handler does
    // not expect (json::value() throws): that fails the resource, not the daemon.
    Result<Deployed> made = Status::internal("not created");
    try {
      made = type->create(prov, r.logical_id, props.value(), replace_in_place ? &previous : nullptr);
    } catch (const json::exception& e) {
      made = Status::invalid_argument(std::string("a property has a value of the wrong type (") + e.what() + ")");
    }
    log::debug("stack: {} created in {:.1f} ms", r.logical_id,
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count());
    std::lock_guard lock(mu);
    if (!made.ok()) {
      failure = at + ": " + made.status().message();
      return;
    }
    live[r.logical_id] = made.value();
    state[r.logical_id] = to_json(made.value(), r.type, props.value(), order);
    if (!before) created.push_back(r.logical_id);
    changes.push_back(std::string(before ? "updated " : "created ") + r.logical_id + " (" + r.type + ")");
  };

  int max_level = 0;
  std::vector<const ResourceType*> prepared;
  std::vector<std::string> models;
  for (const auto& r : plan.resources) {
    max_level = std::max(max_level, r.level);
    const ResourceType* type = find_resource_type(r.type);
    if (!type || old.contains(r.logical_id) || std::find(prepared.begin(), prepared.end(), type) != prepared.end()) {
      continue;
    }
    prepared.push_back(type);
    const auto t_prep = std::chrono::steady_clock::now();
    if (type->prepare) type->prepare(prov);
    log::debug("stack: prepared {} in {:.1f} ms", r.type, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_prep).count());
    for (const auto& [model, _] : type->requires_ops) {
      if (std::find(models.begin(), models.end(), model) == models.end()) models.emplace_back(model);
    }
  }
  // The API models that the new resources' calls go through are loaded side by side, up front:
  // each takes milliseconds the first time, and a later level would otherwise wait for its own.
  std::vector<std::jthread> model_loaders;
  for (const std::string& model : models) {
    model_loaders.emplace_back([model] { (void)protocol::ModelRegistry::instance().get(model); });
  }
  for (int level = 0; level <= max_level && failure.empty(); ++level) {
    std::vector<std::pair<const PlannedResource*, int>> batch;
    for (size_t i = 0; i < plan.resources.size(); ++i) {
      if (plan.resources[i].level == level) batch.emplace_back(&plan.resources[i], static_cast<int>(i));
    }
    if (batch.size() == 1) {
      deploy_one(*batch.front().first, batch.front().second);
      continue;
    }
    const auto began = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (const auto& [r, order] : batch) workers.emplace_back([&, r = r, order = order] { deploy_one(*r, order); });
    for (auto& w : workers) w.join();
    log::debug("stack: level {} ({} resources) deployed in {:.1f} ms", level, batch.size(),
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count());
  }

  if (failure.empty()) {
    // Resources the template no longer has, newest first.
    std::vector<std::pair<int, std::string>> gone;
    for (const auto& [logical, r] : old.items()) {
      if (!state.contains(logical)) gone.emplace_back(r.value("order", 0), logical);
    }
    std::sort(gone.rbegin(), gone.rend());
    for (const auto& [_, logical] : gone) {
      const json& r = old[logical];
      if (const ResourceType* t = find_resource_type(r.value("type", ""))) {
        if (Status st = t->remove(prov, from_json(r)); !st.is_ok()) {
          log::warn("stack: deleting {} failed: {}", logical, st.message());
        }
      }
      changes.push_back("deleted " + logical + " (" + r.value("type", "") + ")");
    }
  } else {
    // Roll back what this deployment created; keep what existed before (as it is now).
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      const ResourceType* t = find_resource_type(state[*it].value("type", ""));
      if (t) (void)t->remove(prov, live[*it]);
      state.erase(*it);
    }
    for (const auto& [logical, r] : old.items()) {
      // Untouched resources of the old state stay recorded; replaced-then-failed ones are gone.
      if (!state.contains(logical) && !plan.resources.empty()) {
        const std::string& id = logical;  // clang 14 (the fuzz build) cannot capture a structured binding
        bool planned = std::any_of(plan.resources.begin(), plan.resources.end(),
                                   [&](const PlannedResource& p) { return p.logical_id == id; });
        if (!planned) state[logical] = r;
      }
    }
  }

  json saved{{"resources", state}, {"template", o.template_path}};
  if (Status st = store.put(family, key, saved.dump()); !st.is_ok()) return st;
  if (!failure.empty()) return Status::invalid_argument(failure + " (the deployment was rolled back)");

  DeployReport report;
  report.changes = std::move(changes);
  for (const auto& [name, out] : plan.outputs.items()) {
    auto v = resolve(out["Value"], scope);
    if (!v.ok()) return Status::invalid_argument("Outputs." + name + ": " + v.status().message());
    report.outputs.emplace_back(name, scalar_text(v.value()));
  }
  for (const auto& r : plan.resources) {
    if (r.type == "AWS::Serverless::Api" || r.type == "AWS::Serverless::HttpApi") {
      const Deployed& d = live[r.logical_id];
      report.apis.push_back(StackApi{r.logical_id, d.physical_id, d.data.value("stage", "")});
    }
  }
  return report;
}

}  // namespace sless::stack
