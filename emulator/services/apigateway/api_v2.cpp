// The apigatewayv2 management API (HTTP APIs): APIs, routes, integrations, authorizers, stages
// and deployments. Sub-resources live in the API's document under one collection each.
#include <algorithm>

#include "core/config.h"
#include "services/apigateway/internal.h"
#include "services/apigateway/text.h"

namespace sless::services::apigateway {

using nlohmann::json;
using protocol::OperationOutput;

namespace {

constexpr const char* kV2 = "apigatewayv2";

// What a sub-resource collection is called in the document, its id member, and how its
// "not found" message reads.
struct Collection {
  const char* key;       // "routes"
  const char* id_field;  // "RouteId"
  const char* noun;      // "Route"
};
constexpr Collection kRoutes{"routes", "RouteId", "Route"};
constexpr Collection kIntegrations{"integrations", "IntegrationId", "Integration"};
constexpr Collection kAuthorizers{"authorizers", "AuthorizerId", "Authorizer"};
constexpr Collection kDeployments{"deployments", "DeploymentId", "Deployment"};

using text::str;

// The request's members minus the URI ones.
json body_of(const json& p, std::initializer_list<const char*> drop) {
  json out = p;
  for (const char* k : drop) out.erase(k);
  return out;
}

// A list answer: {"Items": [...]} with the document's internal members removed.
OperationOutput items_of(const json& collection) {
  json items = json::array();
  for (const auto& [_, v] : collection.items()) {
    json item = v;
    item.erase("snapshot");
    items.push_back(std::move(item));
  }
  return OperationOutput(json{{"Items", std::move(items)}});
}

ServiceError child_not_found(const Collection& c, const std::string& id) {
  return not_found("Invalid " + std::string(c.noun) + " identifier specified " + id);
}

std::optional<ServiceError> check_integration(const json& i) {
  std::string type = str(i, "IntegrationType");
  if (type != "AWS_PROXY") {
    return bad_request("Integration type " + type + " is not supported by sless: use AWS_PROXY (Lambda proxy)");
  }
  if (function_arn_of_uri(str(i, "IntegrationUri")).empty()) {
    return bad_request("IntegrationUri must be a Lambda function ARN or its invocation URI");
  }
  std::string v = i.value("PayloadFormatVersion", std::string());
  if (v != "1.0" && v != "2.0") return bad_request("PayloadFormatVersion must be 1.0 or 2.0 for AWS_PROXY integrations");
  return std::nullopt;
}

std::optional<ServiceError> check_authorizer(const json& a) {
  std::string type = str(a, "AuthorizerType");
  if (type == "JWT") {
    if (!a.contains("JwtConfiguration") || str(a["JwtConfiguration"], "Issuer").empty()) {
      return bad_request("JwtConfiguration.Issuer is required for JWT authorizers");
    }
    if (!a.contains("IdentitySource") || a["IdentitySource"].empty()) {
      return bad_request("IdentitySource is required for JWT authorizers");
    }
  } else if (type == "REQUEST") {
    if (function_arn_of_uri(str(a, "AuthorizerUri")).empty()) {
      return bad_request("AuthorizerUri must be a Lambda function's invocation URI");
    }
    std::string v = a.value("AuthorizerPayloadFormatVersion", std::string());
    if (v != "1.0" && v != "2.0") return bad_request("AuthorizerPayloadFormatVersion must be 1.0 or 2.0");
    if (a.value("EnableSimpleResponses", false) && v != "2.0") {
      return bad_request("EnableSimpleResponses is only supported with AuthorizerPayloadFormatVersion 2.0");
    }
  } else {
    return bad_request("AuthorizerType must be REQUEST or JWT");
  }
  for (const auto& s : a.value("IdentitySource", json::array())) {
    if (s.is_string() && !parse_identity_source(s.get<std::string>())) {
      return bad_request("Invalid identity source " + s.get<std::string>());
    }
  }
  return std::nullopt;
}

std::optional<ServiceError> check_route(const json& doc, const json& r, const std::string& self_id) {
  auto parsed = parse_route_key(str(r, "RouteKey"));
  if (!parsed.ok()) return bad_request(parsed.status().message());
  for (const auto& [id, other] : doc["routes"].items()) {
    if (id != self_id && str(other, "RouteKey") == str(r, "RouteKey")) {
      return conflict("Route with key " + str(r, "RouteKey") + " already exists for this API");
    }
  }
  std::string target = str(r, "Target");
  if (!target.empty()) {
    if (target.rfind("integrations/", 0) != 0 || !doc["integrations"].contains(target.substr(13))) {
      return bad_request("Invalid integration " + target + ": expected integrations/<an integration id of this API>");
    }
  }
  std::string auth = r.value("AuthorizationType", std::string("NONE"));
  if (auth == "CUSTOM" || auth == "JWT") {
    std::string aid = str(r, "AuthorizerId");
    if (aid.empty() || !doc["authorizers"].contains(aid)) {
      return bad_request("Unable to find Authorizer with id " + aid + " for AuthorizationType " + auth);
    }
    std::string type = str(doc["authorizers"][aid], "AuthorizerType");
    if ((auth == "JWT") != (type == "JWT")) {
      return bad_request("AuthorizationType " + auth + " does not match the authorizer's type " + type);
    }
  } else if (auth != "NONE" && auth != "AWS_IAM") {
    return bad_request("Invalid AuthorizationType " + auth);
  }
  return std::nullopt;
}

json api_view(const json& doc, const Config& config) {
  json out = doc["api"];
  out["ApiId"] = doc["id"];
  out["ApiEndpoint"] = "http://" + doc["id"].get<std::string>() + ".execute-api.localhost:" + std::to_string(config.port);
  return out;
}

}  // namespace

void ApiGatewayService::register_v2() {
  op(kV2, "CreateApi", [this](RequestContext& ctx, Params& p) -> Out {
    if (p.value("ProtocolType", std::string("HTTP")) != "HTTP") {
      return bad_request("sless serves HTTP APIs only (ProtocolType HTTP); WEBSOCKET is not supported");
    }
    json api = body_of(p, {"Target", "RouteKey", "CredentialsArn"});
    api["ProtocolType"] = "HTTP";
    api["CreatedDate"] = now_s(ctx);
    api.emplace("RouteSelectionExpression", "${request.method} ${request.path}");
    api.emplace("ApiKeySelectionExpression", "$request.header.x-api-key");
    api.emplace("DisableExecuteApiEndpoint", false);
    json doc{{"protocol", "HTTP"}, {"api", api}, {"routes", json::object()}, {"integrations", json::object()},
             {"authorizers", json::object()}, {"stages", json::object()}, {"deployments", json::object()}};
    if (p.contains("Target")) {  // quick create: one integration, one route, the $default stage
      json integ{{"IntegrationId", new_id(7)}, {"IntegrationType", "AWS_PROXY"}, {"IntegrationMethod", "POST"},
                 {"IntegrationUri", p["Target"]}, {"PayloadFormatVersion", "2.0"}, {"TimeoutInMillis", 30000},
                 {"ConnectionType", "INTERNET"}};
      if (auto err = check_integration(integ)) return std::move(*err);
      std::string route_key = p.value("RouteKey", std::string("$default"));
      json route{{"RouteId", new_id(7)}, {"RouteKey", route_key}, {"AuthorizationType", "NONE"},
                 {"ApiKeyRequired", false}, {"Target", "integrations/" + integ["IntegrationId"].get<std::string>()}};
      if (auto parsed = parse_route_key(route_key); !parsed.ok()) return bad_request(parsed.status().message());
      doc["integrations"][integ["IntegrationId"].get<std::string>()] = integ;
      doc["routes"][route["RouteId"].get<std::string>()] = route;
      doc["stages"]["$default"] = json{{"StageName", "$default"}, {"AutoDeploy", true}, {"CreatedDate", now_s(ctx)},
                                       {"LastUpdatedDate", now_s(ctx)}, {"StageVariables", json::object()},
                                       {"DefaultRouteSettings", json::object()}, {"RouteSettings", json::object()}};
    }
    auto entry = create_entry(ctx.account, ctx.region, std::move(doc));
    if (!entry.ok()) return std::move(entry).error();
    return OperationOutput(api_view(entry.value()->doc, *env_->config));
  });
  op(kV2, "GetApi", [this](RequestContext& ctx, Params& p) -> Out {
    auto entry = find(ctx.account, ctx.region, str(p, "ApiId"));
    if (!entry || !entry->http) return api_not_found(str(p, "ApiId"), true);
    std::lock_guard lock(entry->mu);
    return OperationOutput(api_view(entry->doc, *env_->config));
  });
  op(kV2, "GetApis", [this](RequestContext& ctx, Params&) -> Out {
    std::vector<std::shared_ptr<ApiEntry>> entries;
    {
      std::lock_guard lock(mu_);
      for (const auto& [_, e] : apis_) {
        if (e->http && e->account == ctx.account && e->region == ctx.region) entries.push_back(e);
      }
    }
    json items = json::array();
    for (const auto& e : entries) {
      std::lock_guard lock(e->mu);
      items.push_back(api_view(e->doc, *env_->config));
    }
    std::sort(items.begin(), items.end(), [](const json& a, const json& b) { return a["ApiId"] < b["ApiId"]; });
    return OperationOutput(json{{"Items", std::move(items)}});
  });
  op(kV2, "UpdateApi", [this](RequestContext& ctx, Params& p) -> Out {
    json view;
    Out out = with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
      {
        const json changes = body_of(p, {"ApiId", "Target", "RouteKey", "CredentialsArn"});
        for (const auto& [k, v] : changes.items()) doc["api"][k] = v;
      }
      view = api_view(doc, *env_->config);
      return OperationOutput();
    });
    if (!out.ok()) return out;
    return OperationOutput(view);
  });
  op(kV2, "DeleteApi", [this](RequestContext& ctx, Params& p) -> Out { return remove_api(ctx, str(p, "ApiId"), true); });

  // Routes, integrations, authorizers: create / get / list / update / delete on one collection.
  struct Child {
    Collection c;
    const char* create;
    const char* get;
    const char* list;
    const char* update;
    const char* del;
    std::function<std::optional<ServiceError>(const json& doc, json& item, const std::string& id)> check;
    std::function<void(json& item)> defaults;
  };
  std::vector<Child> children = {
      {kRoutes, "CreateRoute", "GetRoute", "GetRoutes", "UpdateRoute", "DeleteRoute",
       [](const json& doc, json& item, const std::string& id) { return check_route(doc, item, id); },
       [](json& item) {
         item.emplace("AuthorizationType", "NONE");
         item.emplace("ApiKeyRequired", false);
       }},
      {kIntegrations, "CreateIntegration", "GetIntegration", "GetIntegrations", "UpdateIntegration",
       "DeleteIntegration", [](const json&, json& item, const std::string&) { return check_integration(item); },
       [](json& item) {
         item.emplace("TimeoutInMillis", 30000);
         item.emplace("ConnectionType", "INTERNET");
         item.emplace("IntegrationMethod", "POST");
       }},
      {kAuthorizers, "CreateAuthorizer", "GetAuthorizer", "GetAuthorizers", "UpdateAuthorizer", "DeleteAuthorizer",
       [](const json&, json& item, const std::string&) { return check_authorizer(item); },
       [](json& item) {
         if (item.value("AuthorizerType", "") == "REQUEST") item.emplace("AuthorizerResultTtlInSeconds", 0);
       }},
  };
  for (const Child& child : children) {
    const Collection c = child.c;
    op(kV2, child.create, [this, child, c](RequestContext& ctx, Params& p) -> Out {
      json item = body_of(p, {"ApiId"});
      return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
        std::string id = new_id(7);
        item[c.id_field] = id;
        child.defaults(item);
        if (auto err = child.check(doc, item, id)) return std::move(*err);
        doc[c.key][id] = item;
        return OperationOutput(item);
      });
    });
    op(kV2, child.get, [this, c](RequestContext& ctx, Params& p) -> Out {
      std::string id = str(p, c.id_field);
      return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
        if (!doc[c.key].contains(id)) return child_not_found(c, id);
        return OperationOutput(doc[c.key][id]);
      });
    });
    op(kV2, child.list, [this, c](RequestContext& ctx, Params& p) -> Out {
      return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out { return items_of(doc[c.key]); });
    });
    op(kV2, child.update, [this, child, c](RequestContext& ctx, Params& p) -> Out {
      std::string id = str(p, c.id_field);
      return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
        if (!doc[c.key].contains(id)) return child_not_found(c, id);
        json item = doc[c.key][id];
        {
        const json changes = body_of(p, {"ApiId", c.id_field});
        for (const auto& [k, v] : changes.items()) item[k] = v;
      }
        if (auto err = child.check(doc, item, id)) return std::move(*err);
        doc[c.key][id] = item;
        return OperationOutput(item);
      });
    });
    op(kV2, child.del, [this, c](RequestContext& ctx, Params& p) -> Out {
      std::string id = str(p, c.id_field);
      return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
        if (!doc[c.key].contains(id)) return child_not_found(c, id);
        // Integrations and authorizers in use by a route cannot go (AWS answers a conflict).
        for (const auto& [rid, r] : doc["routes"].items()) {
          std::string_view key = c.key;
          if ((key == "integrations" && str(r, "Target") == "integrations/" + id) ||
              (key == "authorizers" && str(r, "AuthorizerId") == id)) {
            return conflict("Cannot delete " + std::string(c.noun) + " " + id + ", as it is being used by route " + rid);
          }
        }
        doc[c.key].erase(id);
        OperationOutput out;
        out.status = 204;
        return out;
      });
    });
  }

  // Stages: keyed by name.
  op(kV2, "CreateStage", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
      std::string name = str(p, "StageName");
      if (doc["stages"].contains(name)) return conflict("Stage already exists");
      std::string dep = str(p, "DeploymentId");
      if (!dep.empty() && !doc["deployments"].contains(dep)) return child_not_found(kDeployments, dep);
      if (auto err = stage_variables_error(p, "StageVariables")) return std::move(*err);
      json stage = body_of(p, {"ApiId"});
      stage["CreatedDate"] = now_s(ctx);
      stage["LastUpdatedDate"] = now_s(ctx);
      stage.emplace("AutoDeploy", false);
      stage.emplace("StageVariables", json::object());
      stage.emplace("DefaultRouteSettings", json::object());
      stage.emplace("RouteSettings", json::object());
      doc["stages"][name] = stage;
      return OperationOutput(stage);
    });
  });
  op(kV2, "GetStage", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
      std::string name = str(p, "StageName");
      if (!doc["stages"].contains(name)) return not_found("Invalid stage identifier specified");
      return OperationOutput(doc["stages"][name]);
    });
  });
  op(kV2, "GetStages", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out { return items_of(doc["stages"]); });
  });
  op(kV2, "UpdateStage", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
      std::string name = str(p, "StageName");
      if (!doc["stages"].contains(name)) return not_found("Invalid stage identifier specified");
      std::string dep = str(p, "DeploymentId");
      if (!dep.empty() && !doc["deployments"].contains(dep)) return child_not_found(kDeployments, dep);
      if (auto err = stage_variables_error(p, "StageVariables")) return std::move(*err);
      json& stage = doc["stages"][name];
      {
        const json changes = body_of(p, {"ApiId", "StageName"});
        for (const auto& [k, v] : changes.items()) stage[k] = v;
      }
      stage["LastUpdatedDate"] = now_s(ctx);
      return OperationOutput(stage);
    });
  });
  op(kV2, "DeleteStage", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
      std::string name = str(p, "StageName");
      if (!doc["stages"].contains(name)) return not_found("Invalid stage identifier specified");
      doc["stages"].erase(name);
      OperationOutput out;
      out.status = 204;
      return out;
    });
  });

  // Deployments: a snapshot of the routes, integrations and authorizers.
  op(kV2, "CreateDeployment", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
      std::string stage = str(p, "StageName");
      if (!stage.empty() && !doc["stages"].contains(stage)) return bad_request("Invalid stage identifier specified");
      json dep{{"DeploymentId", new_id(6)}, {"CreatedDate", now_s(ctx)}, {"DeploymentStatus", "DEPLOYED"},
               {"AutoDeployed", false}};
      if (p.contains("Description")) dep["Description"] = p["Description"];
      json shown = dep;
      dep["snapshot"] = json{{"routes", doc["routes"]}, {"integrations", doc["integrations"]},
                             {"authorizers", doc["authorizers"]}};
      std::string id = dep["DeploymentId"];
      doc["deployments"][id] = std::move(dep);
      if (!stage.empty()) {
        doc["stages"][stage]["DeploymentId"] = id;
        doc["stages"][stage]["LastUpdatedDate"] = now_s(ctx);
      }
      return OperationOutput(shown);
    });
  });
  op(kV2, "GetDeployment", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
      std::string id = str(p, "DeploymentId");
      if (!doc["deployments"].contains(id)) return child_not_found(kDeployments, id);
      json d = doc["deployments"][id];
      d.erase("snapshot");
      return OperationOutput(d);
    });
  });
  op(kV2, "GetDeployments", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out { return items_of(doc["deployments"]); });
  });
  op(kV2, "DeleteDeployment", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "ApiId"), true, [&](json& doc) -> Out {
      std::string id = str(p, "DeploymentId");
      if (!doc["deployments"].contains(id)) return child_not_found(kDeployments, id);
      for (const auto& [name, s] : doc["stages"].items()) {
        if (str(s, "DeploymentId") == id) {
          return bad_request("Active stages pointing to this deployment must be moved or deleted");
        }
      }
      doc["deployments"].erase(id);
      OperationOutput out;
      out.status = 204;
      return out;
    });
  });
}

}  // namespace sless::services::apigateway
