// The registry: every service of the daemon, in an explicit list (registry.cpp), looked up by
// name or by API model. Built and started once at start-up; lookups are then read-only and safe
// from any thread.
#pragma once

#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "services/service.h"

namespace sless::services {

class Registry {
 public:
  // Builds the list of services (registry.cpp). Adding a service is one line there.
  Registry();
  ~Registry();

  Status start_all(Env& env);
  void drain_all();
  void stop_all();
  // Tells every service that the daemon's clock jumped (tests move it forward).
  void clock_changed();
  // Resets one service by name, or every service when name is empty. NotFound for an unknown name.
  Status reset(std::string_view name = {});

  Service* by_name(std::string_view name) const;
  Service* by_model(std::string_view model) const;
  template <class T>
  T* get(std::string_view name) const {
    return dynamic_cast<T*>(by_name(name));
  }
  const std::vector<std::unique_ptr<Service>>& all() const { return services_; }

  // Calls an operation in-process with a params tree, as the function SDK and cross-service
  // deliveries do: validates against the model, then invokes. `done` runs exactly once. A JSON
  // service that writes its answer's text itself (DynamoDB) has it parsed into `result`, unless
  // `keep_json_text`: then the text stays in `raw_payload`, for a caller that only sends it on.
  void call(std::string_view model, std::string_view operation, nlohmann::json params, RequestContext ctx,
            Done done, bool keep_json_text = false) const;

 private:
  std::vector<std::unique_ptr<Service>> services_;
  std::unordered_map<std::string, Service*> by_model_;
};

}  // namespace sless::services
