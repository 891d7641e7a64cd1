// The service's core: API documents in the store, the cache of compiled APIs, and the
// operation table of both models.
#include "services/apigateway/apigateway.h"

#include "core/ids.h"
#include "core/log.h"
#include "services/apigateway/internal.h"
#include "services/apigateway/jwt.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::apigateway {

using nlohmann::json;

ApiGatewayService::ApiGatewayService() {
  register_v2();
  register_v1();
  std::set<std::string> names;
  for (const auto& [k, _] : ops_) names.insert(k.substr(k.find('/') + 1));
  op_names_ = names.size();
}

ApiGatewayService::~ApiGatewayService() = default;

void ApiGatewayService::op(const char* model, const char* name, OpFn fn) {
  ops_[std::string(model) + "/" + name] = std::move(fn);
}

bool ApiGatewayService::implements(std::string_view op) const {
  return ops_.count("apigateway/" + std::string(op)) > 0 || ops_.count("apigatewayv2/" + std::string(op)) > 0;
}

size_t ApiGatewayService::implemented_count() const { return op_names_; }

void ApiGatewayService::invoke(Invocation inv) {
  auto it = ops_.find(inv.ctx.service + "/" + inv.op->name);
  if (it == ops_.end()) {
    inv.done(ServiceError::not_implemented(inv.ctx.service, inv.op->name));
    return;
  }
  inv.done(it->second(inv.ctx, inv.params));
}

Status ApiGatewayService::start(Env& env) {
  env_ = &env;
  family_ = env.store->family("apigateway");
  if (!family_) return Status::internal("cannot open the apigateway column family");
  jwks_ = std::make_unique<JwksCache>();
  return load_all();
}

void ApiGatewayService::stop() {
  if (jwks_) jwks_->stop();
}

Status ApiGatewayService::reset() {
  {
    std::lock_guard lock(mu_);
    apis_.clear();
  }
  {
    std::lock_guard lock(auth_mu_);
    auth_cache_.clear();
  }
  return env_->store->clear(family_);
}

json ApiGatewayService::describe() const {
  std::shared_lock lock(mu_);
  return json{{"apis", apis_.size()}};
}

std::string ApiGatewayService::key_of(const std::string& account, const std::string& region,
                                      const std::string& id) const {
  return storage::key::KeyBuilder(account, region).str("api").str(id).take();
}

Status ApiGatewayService::load_all() {
  auto it = env_->store->iterate(family_, "", "");
  std::lock_guard lock(mu_);
  for (it->seek_to_first(); it->valid(); it->next()) {
    json doc = json::parse(it->value(), nullptr, false);
    if (doc.is_discarded() || !doc.contains("id")) {
      log::warn("apigateway: skipping an unreadable API document");
      continue;
    }
    auto entry = std::make_shared<ApiEntry>();
    auto compiled = compile_api(doc);
    if (!compiled.ok()) {
      log::warn("apigateway: API {} does not compile: {}", doc["id"].get<std::string>(), compiled.status().to_string());
      continue;
    }
    entry->account = doc.value("account", "");
    entry->region = doc.value("region", "");
    entry->http = doc.value("protocol", "") == "HTTP";
    entry->compiled = std::move(compiled).value();
    entry->doc = std::move(doc);
    apis_[entry->doc["id"].get<std::string>()] = std::move(entry);
  }
  return it->status();
}

std::shared_ptr<ApiGatewayService::ApiEntry> ApiGatewayService::find(const std::string& account,
                                                                     const std::string& region,
                                                                     const std::string& id) {
  std::shared_lock lock(mu_);
  auto it = apis_.find(id);
  if (it == apis_.end() || it->second->account != account || it->second->region != region) return nullptr;
  return it->second;
}

std::shared_ptr<const CompiledApi> ApiGatewayService::compiled(const std::string& id) const {
  std::shared_ptr<ApiEntry> entry;
  {
    std::shared_lock lock(mu_);
    auto it = apis_.find(id);
    if (it == apis_.end()) return nullptr;
    entry = it->second;
  }
  return std::atomic_load(&entry->compiled);
}

ApiGatewayService::Out ApiGatewayService::with_api(RequestContext& ctx, const std::string& id, bool v2,
                                                   const std::function<Out(json& doc)>& change) {
  auto entry = find(ctx.account, ctx.region, id);
  if (!entry || entry->http != v2) return api_not_found(id, v2);
  std::lock_guard lock(entry->mu);
  if (entry->deleted) return api_not_found(id, v2);
  json doc = entry->doc;
  Out out = change(doc);
  if (!out.ok() || doc == entry->doc) return out;
  auto compiled = compile_api(doc);
  if (!compiled.ok()) return bad_request(compiled.status().message());
  if (Status st = env_->store->put(family_, key_of(entry->account, entry->region, id), doc.dump()); !st.is_ok()) {
    return ServiceError::internal("storing the API failed: " + st.to_string());
  }
  entry->doc = std::move(doc);
  std::atomic_store(&entry->compiled, std::move(compiled).value());
  return out;
}

Outcome<std::shared_ptr<ApiGatewayService::ApiEntry>> ApiGatewayService::create_entry(const std::string& account,
                                                                                    const std::string& region,
                                                                                    json doc) {
  std::string id;
  {
    std::lock_guard lock(mu_);
    do {
      id = new_id(10);
    } while (apis_.count(id));
  }
  doc["id"] = id;
  doc["account"] = account;
  doc["region"] = region;
  auto compiled = compile_api(doc);
  if (!compiled.ok()) return bad_request(compiled.status().message());
  auto entry = std::make_shared<ApiEntry>();
  entry->account = account;
  entry->region = region;
  entry->http = doc.value("protocol", "") == "HTTP";
  entry->compiled = std::move(compiled).value();
  if (Status st = env_->store->put(family_, key_of(account, region, id), doc.dump()); !st.is_ok()) {
    return ServiceError::internal("storing the API failed: " + st.to_string());
  }
  entry->doc = std::move(doc);
  std::lock_guard lock(mu_);
  apis_[id] = entry;
  return entry;
}

ApiGatewayService::Out ApiGatewayService::remove_api(RequestContext& ctx, const std::string& id, bool v2) {
  auto entry = find(ctx.account, ctx.region, id);
  if (!entry || entry->http != v2) return api_not_found(id, v2);
  {
    std::lock_guard lock(entry->mu);
    if (entry->deleted) return api_not_found(id, v2);
    if (Status st = env_->store->del(family_, key_of(entry->account, entry->region, id)); !st.is_ok()) {
      return ServiceError::internal("deleting the API failed: " + st.to_string());
    }
    entry->deleted = true;
  }
  std::lock_guard lock(mu_);
  apis_.erase(id);
  protocol::OperationOutput out;
  if (!v2) out.status = 202;
  return out;
}

Outcome<std::string> ApiGatewayService::put_api(const std::string& account, const std::string& region,
                                                const std::string& id, json definition) {
  if (!id.empty()) {
    auto entry = find(account, region, id);
    if (entry) {
      std::lock_guard lock(entry->mu);
      if (!entry->deleted && entry->http == (definition.value("protocol", "") == "HTTP")) {
        definition["id"] = id;
        definition["account"] = account;
        definition["region"] = region;
        auto compiled = compile_api(definition);
        if (!compiled.ok()) return bad_request(compiled.status().message());
        if (Status st = env_->store->put(family_, key_of(account, region, id), definition.dump()); !st.is_ok()) {
          return ServiceError::internal("storing the API failed: " + st.to_string());
        }
        entry->doc = std::move(definition);
        std::atomic_store(&entry->compiled, std::move(compiled).value());
        return id;
      }
    }
  }
  auto created = create_entry(account, region, std::move(definition));
  if (!created.ok()) return std::move(created).error();
  return created.value()->doc["id"].get<std::string>();
}

Status ApiGatewayService::delete_api(const std::string& account, const std::string& region, const std::string& id) {
  auto entry = find(account, region, id);
  if (!entry) return Status::ok();
  RequestContext ctx;
  ctx.account = account;
  ctx.region = region;
  auto out = remove_api(ctx, id, entry->http);
  return out.ok() ? Status::ok() : Status::internal(out.error().message);
}

}  // namespace sless::services::apigateway
