#include "services/service.h"

namespace sless::services {

void Provider::on_sync(std::string op, SyncHandler handler) {
  on(std::move(op), [h = std::move(handler)](Invocation&& inv) { inv.done(h(inv.ctx, inv.params)); });
}

void Provider::invoke(Invocation inv) {
  auto it = ops_.find(inv.op->name);
  if (it == ops_.end()) {
    inv.done(ServiceError::not_implemented(name(), inv.op->name));
    return;
  }
  it->second(std::move(inv));
}

void ModelOnlyService::invoke(Invocation inv) { inv.done(ServiceError::not_implemented(name_, inv.op->name)); }

nlohmann::json& statements_of(nlohmann::json& policy) {
  nlohmann::json& s = policy["Statement"];
  if (s.is_object()) {
    s = nlohmann::json::array({s});
  } else if (!s.is_array()) {
    s = nlohmann::json::array();
  }
  return s;
}

}  // namespace sless::services
