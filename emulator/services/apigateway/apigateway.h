// API Gateway: the management APIs of REST APIs (v1, model "apigateway") and HTTP APIs (v2,
// "apigatewayv2"), and their data plane: routes → Lambda proxy integrations (payload 1.0/2.0),
// Lambda/JWT authorizers, CORS, stages. Each API is one JSON document in the "apigateway" column
// family (layout below), compiled into an immutable route table (routes.h) after every change.
// Thread-safe: one mutex per API; serve() runs on any io thread and takes no lock but a map's.
//
// API document:
//   {"id", "account", "region", "protocol": "HTTP"|"REST", "api": {the Api / RestApi fields},
//    HTTP: "routes"/"integrations"/"authorizers": {id: {v2 fields}}, "stages": {name: {v2 fields}},
//          "deployments": {id: {v2 fields, "snapshot": {routes, integrations, authorizers}}}
//    REST: "resources": {id: {id, parentId, pathPart, path, resourceMethods: {M: {..., methodIntegration}}}},
//          "authorizers": {id: {v1 fields}}, "stages": {name: {v1 fields}},
//          "deployments": {id: {v1 fields, "snapshot": {resources, authorizers}}}}
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "http/server.h"
#include "services/apigateway/routes.h"
#include "services/service.h"

namespace sless::storage {
class Family;
}

namespace sless::services::apigateway {

class JwksCache;

// How a request reached an API.
struct ServeOptions {
  // The stage that serves the whole path (the stack's own port). Empty: execute-api form, where
  // the first path segment names the stage (or the $default stage takes the whole path).
  std::string stage;
  // A prefix of the request path to drop first (the path form /_aws/execute-api/<id>).
  std::string strip_prefix;
};

class ApiGatewayService final : public Service {
 public:
  ApiGatewayService();
  ~ApiGatewayService() override;
  std::string_view name() const override { return "apigateway"; }
  std::vector<std::string> models() const override { return {"apigateway", "apigatewayv2"}; }
  Status start(Env& env) override;
  void stop() override;
  Status reset() override;
  bool implements(std::string_view op) const override;
  size_t implemented_count() const override;
  void invoke(Invocation inv) override;
  nlohmann::json describe() const override;

  // The data plane: answers one request to API `api_id` as API Gateway would. `respond` runs
  // exactly once, on any thread.
  void serve(const std::string& api_id, http::Request request, const ServeOptions& options,
             http::Handler::Respond respond);

  // For the stack loader: creates (empty id) or replaces the API with this definition (an API
  // document without id/account/region), keeping its id. Returns the id.
  Outcome<std::string> put_api(const std::string& account, const std::string& region, const std::string& id,
                               nlohmann::json definition);
  Status delete_api(const std::string& account, const std::string& region, const std::string& id);
  // The compiled API, or nullptr.
  std::shared_ptr<const CompiledApi> compiled(const std::string& id) const;

  struct ApiEntry;
  struct Call;  // one data-plane request in flight (dataplane.cpp)
  using Out = Outcome<protocol::OperationOutput>;
  using Params = nlohmann::json;
  using OpFn = std::function<Out(RequestContext&, Params&)>;

 private:
  // store
  Status load_all();
  std::string key_of(const std::string& account, const std::string& region, const std::string& id) const;
  std::shared_ptr<ApiEntry> find(const std::string& account, const std::string& region, const std::string& id);
  // Applies `change` to a copy of the API's document; saves and recompiles when it succeeds.
  Out with_api(RequestContext& ctx, const std::string& id, bool v2,
               const std::function<Out(nlohmann::json& doc)>& change);
  Outcome<std::shared_ptr<ApiEntry>> create_entry(const std::string& account, const std::string& region,
                                                  nlohmann::json doc);
  Out remove_api(RequestContext& ctx, const std::string& id, bool v2);

  // api_v2.cpp / api_v1.cpp
  void register_v2();
  void register_v1();
  void op(const char* model, const char* name, OpFn fn);

  // dataplane.cpp
  void authorize(std::shared_ptr<Call> call);
  void integrate(std::shared_ptr<Call> call);
  void finish(const std::shared_ptr<Call>& call, http::Response response);

  Env* env_ = nullptr;
  storage::Family* family_ = nullptr;
  std::unordered_map<std::string, OpFn> ops_;  // "apigatewayv2/CreateApi"
  size_t op_names_ = 0;

  mutable std::shared_mutex mu_;  // guards apis_ (the map; each entry has its own lock)
  std::unordered_map<std::string, std::shared_ptr<ApiEntry>> apis_;  // by API id

  // Lambda authorizer results by authorizer and identity, with their expiry.
  struct CachedAuth {
    int64_t expires_ms = 0;
    nlohmann::json result;
  };
  std::mutex auth_mu_;
  std::unordered_map<std::string, CachedAuth> auth_cache_;
  std::unique_ptr<JwksCache> jwks_;
};

}  // namespace sless::services::apigateway
