// Stacks: a SAM/CloudFormation template turned into live resources of the daemon's services.
//
//   parse_template ─▶ plan_stack (parameters, conditions, Globals, SAM expansion of functions'
//   Events and implicit APIs, references, cycles, property types, what the services support)
//   ─▶ deploy_stack (intrinsics resolved in dependency order; create / update / delete against
//   the stack's last deployed state, kept in the store; rolled back when a step fails)
//
// plan_stack is pure (any thread). deploy_stack blocks its caller while the services work on
// their io threads: call it from a thread that is not an io thread (the daemon's start).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "stack/template.h"

namespace sless::services {
class Registry;
}
namespace sless::storage {
class Store;
}

namespace sless::stack {

struct StackOptions {
  std::string template_path;
  std::map<std::string, std::string> parameter_overrides;
  std::string stack_name;  // empty: the template's folder name
  std::string account = "000000000000";
  std::string region = "us-east-1";
  std::string endpoint;    // the daemon's URL (for requests the stack makes)
};

struct PlannedResource {
  std::string logical_id;
  std::string type;
  nlohmann::json properties = nlohmann::json::object();
  std::vector<std::string> depends_on;  // logical ids
  int line = 0;
  int level = 0;  // 0: depends on nothing; else 1 + the deepest dependency's level
};

struct Plan {
  StackOptions options;
  std::string stack_name;
  std::string template_dir;
  TemplateDoc doc;
  std::map<std::string, nlohmann::json> parameters;  // resolved values
  std::map<std::string, bool> conditions;
  std::vector<PlannedResource> resources;  // in dependency order
  nlohmann::json outputs = nlohmann::json::object();
  nlohmann::json mappings = nlohmann::json::object();
};

// An API the stack serves, for the daemon to give it a port.
struct StackApi {
  std::string logical_id;
  std::string api_id;
  std::string stage;
};

struct DeployReport {
  std::vector<std::string> changes;  // "created Table (AWS::DynamoDB::Table)", ...
  std::vector<std::pair<std::string, std::string>> outputs;
  std::vector<StackApi> apis;
};

// Reads and checks a template without creating anything. `registry` (may be null) lets the
// plan refuse resource and event types whose services are not implemented yet. Errors name the
// resource and the line: "Resources.Table (line 14): ...".
Result<Plan> plan_stack(const StackOptions& options, const services::Registry* registry);
Result<Plan> plan_stack_text(const std::string& text, const StackOptions& options, const services::Registry* registry);

// Makes the services hold what the plan describes, changing only what differs from the last
// deployment of the same stack, and removing what the template no longer has.
Result<DeployReport> deploy_stack(const Plan& plan, services::Registry& registry, storage::Store& store);

// Loads the API models that deploying the template's resources would go through (each takes
// milliseconds on first use), so that a daemon can do it on another core while its store opens.
// Errors are left for plan_stack to report.
void preload_models(const StackOptions& options);

}  // namespace sless::stack
