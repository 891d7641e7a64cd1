// The resource types a stack may hold: for each, its properties (checked at plan time), the
// service operations it needs, and how to create and delete one through the services' APIs.
// The table is immutable; the functions run on the deploying thread (see stack.h).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace sless::services {
class Registry;
}

namespace sless::stack {

enum class Kind { kString, kInteger, kBoolean, kList, kMap, kAny };

struct PropSpec {
  const char* name;
  Kind kind;
  bool required = false;
};

// A resource as deployed: what Ref and Fn::GetAtt give, and what deleting it needs.
struct Deployed {
  std::string physical_id;
  nlohmann::json attributes = nlohmann::json::object();
  nlohmann::json data = nlohmann::json::object();
};

// What resource handlers use: blocking calls into the daemon's services and the stack's facts.
class Provisioner {
 public:
  Provisioner(services::Registry& registry, std::string account, std::string region, std::string endpoint,
              std::string stack_name, std::string template_dir)
      : registry_(registry), account(std::move(account)), region(std::move(region)), endpoint(std::move(endpoint)),
        stack_name(std::move(stack_name)), template_dir(std::move(template_dir)) {}

  // Calls `model.op` in-process and waits for its answer. String numbers and booleans in the
  // params are converted where the model wants numbers and booleans (templates give strings).
  Result<nlohmann::json> call(const std::string& model, const std::string& op, nlohmann::json params);
  services::Registry& registry() { return registry_; }

 private:
  services::Registry& registry_;

 public:
  const std::string account;
  const std::string region;
  const std::string endpoint;
  const std::string stack_name;
  const std::string template_dir;
};

struct ResourceType {
  const char* name;
  std::vector<PropSpec> properties;
  std::vector<std::pair<const char*, const char*>> requires_ops;  // (model, operation)
  // Creates the resource; `previous` is set when it replaces an earlier version (APIs keep
  // their id then).
  std::function<Result<Deployed>(Provisioner&, const std::string& logical, const nlohmann::json& props,
                                 const Deployed* previous)>
      create;
  std::function<Status(Provisioner&, const Deployed&)> remove;
  // Replaced in place by create(previous) rather than removed first.
  bool update_in_place = false;
  // Called once before a deployment that creates resources of this type, ahead of them.
  std::function<void(Provisioner&)> prepare = nullptr;
};

const ResourceType* find_resource_type(const std::string& name);

// The first property of `props` whose value is not of the kind its PropSpec declares: (name,
// message). Intrinsic functions pass; the deployment checks again once they are resolved.
std::optional<std::pair<std::string, std::string>> property_kind_error(const ResourceType& type,
                                                                       const nlohmann::json& props);

}  // namespace sless::stack
