// The apigateway (v1) management API for REST APIs: APIs, resources, methods, integrations,
// method and integration responses, authorizers, deployments and stages.
#include <algorithm>
#include <regex>

#include "services/apigateway/internal.h"
#include "services/apigateway/text.h"

namespace sless::services::apigateway {

using nlohmann::json;
using protocol::OperationOutput;

namespace {

constexpr const char* kV1 = "apigateway";

using text::str;

json without(const json& p, std::initializer_list<const char*> drop) {
  json out = p;
  for (const char* k : drop) out.erase(k);
  return out;
}

OperationOutput list_of(const json& collection, const char* member = "items") {
  json items = json::array();
  for (const auto& [_, v] : collection.items()) {
    json item = v;
    item.erase("snapshot");
    items.push_back(std::move(item));
  }
  return OperationOutput(json{{member, std::move(items)}});
}

OperationOutput empty_status(int status) {
  OperationOutput out;
  out.status = status;
  return out;
}

// The member `id` of doc[collection] (without its snapshot), or NotFound with `message`.
ApiGatewayService::Out child_or_not_found(const json& doc, const char* collection, const std::string& id,
                                          const char* message) {
  auto it = doc[collection].find(id);
  if (it == doc[collection].end()) return not_found(message);
  json out = *it;
  out.erase("snapshot");
  return OperationOutput(out);
}

// A resource as GetResources shows it: resourceMethods lists the methods without details.
json resource_view(const json& r) {
  json out = r;
  if (out.contains("resourceMethods") && out["resourceMethods"].empty()) out.erase("resourceMethods");
  return out;
}

bool valid_path_part(const std::string& part) {
  static const std::regex kPart(R"(^([A-Za-z0-9._~:@!$&'()*+,;=-]+|\{[A-Za-z0-9._-]+\+?\})$)");
  return std::regex_match(part, kPart);
}

Result<json*> find_resource(json& doc, const std::string& id) {
  auto it = doc["resources"].find(id);
  if (it == doc["resources"].end()) return Status::not_found("Invalid Resource identifier specified");
  return &*it;
}

// Applies JSON-patch-like operations to a stage (the paths AWS accepts for the fields sless keeps).
std::optional<ServiceError> patch_stage(json& stage, const json& ops, const json& doc) {
  for (const auto& o : ops) {
    std::string op = str(o, "op");
    std::string path = str(o, "path");
    std::string value = str(o, "value");
    if (path.rfind("/variables/", 0) == 0) {
      std::string name = path.substr(11);
      if (op != "remove") {
        if (auto err = stage_variable_error(name, value)) return err;
      }
      if (op == "remove") {
        stage["variables"].erase(name);
      } else {
        stage["variables"][name] = value;
      }
    } else if (path == "/deploymentId" && op == "replace") {
      if (!doc["deployments"].contains(value)) return bad_request("Invalid deployment identifier specified");
      stage["deploymentId"] = value;
    } else if (path == "/description" && op == "replace") {
      stage["description"] = value;
    } else {
      return bad_request("Invalid patch path '" + path + "' specified for op '" + op + "'. Must be one of: "
                         "[/variables/*, /deploymentId, /description]");
    }
  }
  return std::nullopt;
}

}  // namespace

void ApiGatewayService::register_v1() {
  op(kV1, "CreateRestApi", [this](RequestContext& ctx, Params& p) -> Out {
    if (p.contains("cloneFrom")) return bad_request("cloneFrom is not supported by sless");
    json api = without(p, {"tags"});
    api["createdDate"] = now_s(ctx);
    api.emplace("apiKeySource", "HEADER");
    api.emplace("endpointConfiguration", json{{"types", json::array({"EDGE"})}});
    api.emplace("disableExecuteApiEndpoint", false);
    if (p.contains("tags")) api["tags"] = p["tags"];
    std::string root = new_id(10);
    api["rootResourceId"] = root;
    json doc{{"protocol", "REST"}, {"api", api},
             {"resources", json{{root, json{{"id", root}, {"path", "/"}, {"resourceMethods", json::object()}}}}},
             {"authorizers", json::object()}, {"stages", json::object()}, {"deployments", json::object()}};
    auto entry = create_entry(ctx.account, ctx.region, std::move(doc));
    if (!entry.ok()) return std::move(entry).error();
    json out = entry.value()->doc["api"];
    out["id"] = entry.value()->doc["id"];
    return OperationOutput(out);
  });
  op(kV1, "GetRestApi", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      json out = doc["api"];
      out["id"] = doc["id"];
      return OperationOutput(out);
    });
  });
  op(kV1, "GetRestApis", [this](RequestContext& ctx, Params&) -> Out {
    std::vector<std::shared_ptr<ApiEntry>> entries;
    {
      std::lock_guard lock(mu_);
      for (const auto& [_, e] : apis_) {
        if (!e->http && e->account == ctx.account && e->region == ctx.region) entries.push_back(e);
      }
    }
    json items = json::array();
    for (const auto& e : entries) {
      std::lock_guard lock(e->mu);
      json out = e->doc["api"];
      out["id"] = e->doc["id"];
      items.push_back(std::move(out));
    }
    std::sort(items.begin(), items.end(), [](const json& a, const json& b) { return a["id"] < b["id"]; });
    return OperationOutput(json{{"items", std::move(items)}});
  });
  op(kV1, "DeleteRestApi", [this](RequestContext& ctx, Params& p) -> Out {
    return remove_api(ctx, str(p, "restApiId"), false);
  });

  // Resources.
  op(kV1, "GetResources", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      json items = json::array();
      for (const auto& [_, r] : doc["resources"].items()) items.push_back(resource_view(r));
      std::sort(items.begin(), items.end(), [](const json& a, const json& b) { return a["path"] < b["path"]; });
      return OperationOutput(json{{"items", std::move(items)}});
    });
  });
  op(kV1, "GetResource", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      return OperationOutput(resource_view(*r.value()));
    });
  });
  op(kV1, "CreateResource", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto parent = find_resource(doc, str(p, "parentId"));
      if (!parent.ok()) return not_found(parent.status().message());
      std::string part = str(p, "pathPart");
      if (!valid_path_part(part)) {
        return bad_request("Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end "
                           "and an optional plus sign before the closing brace.");
      }
      std::string parent_path = str(*parent.value(), "path");
      if (parent_path.size() > 1 && parent_path.find('+') != std::string::npos) {
        return bad_request("Cannot create a child of a resource with a greedy path variable");
      }
      for (const auto& [_, r] : doc["resources"].items()) {
        if (str(r, "parentId") == str(p, "parentId") && str(r, "pathPart") == part) {
          return conflict("Another resource with the same parent already has this name: " + part);
        }
      }
      std::string id = new_id(6);
      json r{{"id", id}, {"parentId", p["parentId"]}, {"pathPart", part},
             {"path", (parent_path == "/" ? "" : parent_path) + "/" + part}, {"resourceMethods", json::object()}};
      doc["resources"][id] = r;
      return OperationOutput(resource_view(r));
    });
  });
  op(kV1, "DeleteResource", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      std::string id = str(p, "resourceId");
      auto r = find_resource(doc, id);
      if (!r.ok()) return not_found(r.status().message());
      if (str(*r.value(), "path") == "/") return bad_request("Cannot delete the root resource of an API");
      // The resource and everything below it.
      std::string prefix = str(*r.value(), "path") + "/";
      std::vector<std::string> gone{id};
      for (const auto& [rid, other] : doc["resources"].items()) {
        if (str(other, "path").rfind(prefix, 0) == 0) gone.push_back(rid);
      }
      for (const auto& g : gone) doc["resources"].erase(g);
      return empty_status(202);
    });
  });

  // Methods and their integrations.
  op(kV1, "PutMethod", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      std::string method = str(p, "httpMethod");
      static const std::set<std::string> kMethods = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY"};
      if (!kMethods.count(method)) return bad_request("Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY");
      json& methods = (*r.value())["resourceMethods"];
      if (methods.contains(method)) return conflict("Method already exists for this resource");
      std::string auth = p.value("authorizationType", std::string("NONE"));
      if (auth == "CUSTOM" || auth == "COGNITO_USER_POOLS") {
        std::string aid = str(p, "authorizerId");
        if (aid.empty() || !doc["authorizers"].contains(aid)) return bad_request("Invalid authorizer ID specified");
      } else if (auth != "NONE" && auth != "AWS_IAM") {
        return bad_request("Invalid authorization type specified. Valid options are NONE, AWS_IAM, CUSTOM, COGNITO_USER_POOLS");
      }
      json m = without(p, {"restApiId", "resourceId"});
      m["authorizationType"] = auth;
      m.emplace("apiKeyRequired", false);
      methods[method] = m;
      return OperationOutput(m);
    });
  });
  op(kV1, "GetMethod", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      auto m = (*r.value())["resourceMethods"].find(str(p, "httpMethod"));
      if (m == (*r.value())["resourceMethods"].end()) return not_found("Invalid Method identifier specified");
      return OperationOutput(*m);
    });
  });
  op(kV1, "DeleteMethod", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      json& methods = (*r.value())["resourceMethods"];
      if (!methods.contains(str(p, "httpMethod"))) return not_found("Invalid Method identifier specified");
      methods.erase(str(p, "httpMethod"));
      return empty_status(204);
    });
  });
  op(kV1, "PutIntegration", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      json& methods = (*r.value())["resourceMethods"];
      auto m = methods.find(str(p, "httpMethod"));
      if (m == methods.end()) return not_found("Invalid Method identifier specified");
      std::string type = str(p, "type");
      if (type != "AWS_PROXY") {
        return bad_request("Integration type " + type + " is not supported by sless: use AWS_PROXY (Lambda proxy)");
      }
      if (function_arn_of_uri(str(p, "uri")).empty()) {
        return bad_request("Invalid ARN specified in the request: AWS_PROXY integrations need a Lambda invocation URI");
      }
      if (str(p, "integrationHttpMethod") != "POST") {
        return bad_request("Lambda proxy integrations must use POST as the integration HTTP method");
      }
      json integ = without(p, {"restApiId", "resourceId", "httpMethod", "integrationHttpMethod"});
      integ["httpMethod"] = "POST";
      integ.emplace("passthroughBehavior", "WHEN_NO_MATCH");
      integ.emplace("timeoutInMillis", 29000);
      integ.emplace("cacheNamespace", str(*r.value(), "id"));
      integ.emplace("cacheKeyParameters", json::array());
      (*m)["methodIntegration"] = integ;
      return OperationOutput(integ);
    });
  });
  op(kV1, "GetIntegration", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      auto m = (*r.value())["resourceMethods"].find(str(p, "httpMethod"));
      if (m == (*r.value())["resourceMethods"].end()) return not_found("Invalid Method identifier specified");
      if (!m->contains("methodIntegration")) return not_found("No integration defined for method");
      return OperationOutput((*m)["methodIntegration"]);
    });
  });
  op(kV1, "DeleteIntegration", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      auto m = (*r.value())["resourceMethods"].find(str(p, "httpMethod"));
      if (m == (*r.value())["resourceMethods"].end() || !m->contains("methodIntegration")) {
        return not_found("No integration defined for method");
      }
      m->erase("methodIntegration");
      return empty_status(204);
    });
  });
  op(kV1, "PutMethodResponse", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      auto m = (*r.value())["resourceMethods"].find(str(p, "httpMethod"));
      if (m == (*r.value())["resourceMethods"].end()) return not_found("Invalid Method identifier specified");
      json resp = without(p, {"restApiId", "resourceId", "httpMethod"});
      (*m)["methodResponses"][str(p, "statusCode")] = resp;
      return OperationOutput(resp);
    });
  });
  op(kV1, "PutIntegrationResponse", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      auto r = find_resource(doc, str(p, "resourceId"));
      if (!r.ok()) return not_found(r.status().message());
      auto m = (*r.value())["resourceMethods"].find(str(p, "httpMethod"));
      if (m == (*r.value())["resourceMethods"].end() || !m->contains("methodIntegration")) {
        return not_found("No integration defined for method");
      }
      json resp = without(p, {"restApiId", "resourceId", "httpMethod"});
      (*m)["methodIntegration"]["integrationResponses"][str(p, "statusCode")] = resp;
      return OperationOutput(resp);
    });
  });

  // Authorizers.
  op(kV1, "CreateAuthorizer", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      std::string type = str(p, "type");
      if (type == "TOKEN" || type == "REQUEST") {
        if (function_arn_of_uri(str(p, "authorizerUri")).empty()) {
          return bad_request("Invalid Authorizer URI: a Lambda function's invocation URI is required");
        }
      } else if (type == "COGNITO_USER_POOLS") {
        if (!p.contains("providerARNs") || p["providerARNs"].empty()) {
          return bad_request("providerARNs are required for COGNITO_USER_POOLS authorizers");
        }
      }
      std::string source = str(p, "identitySource");
      if (type == "TOKEN" || type == "COGNITO_USER_POOLS") {
        auto src = parse_identity_source(source);
        if (!src || src->kind != IdentitySource::Kind::kHeader) {
          return bad_request("Invalid identity source: " + source + " (expected method.request.header.<name>)");
        }
      } else if (!source.empty()) {
        for (const auto& part : text::split(source, ',')) {
          if (!parse_identity_source(text::trim(part))) return bad_request("Invalid identity source: " + std::string(part));
        }
      }
      json a = without(p, {"restApiId"});
      a["id"] = new_id(6);
      a.emplace("authorizerResultTtlInSeconds", 300);
      doc["authorizers"][a["id"].get<std::string>()] = a;
      return OperationOutput(a);
    });
  });
  op(kV1, "GetAuthorizer", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      return child_or_not_found(doc, "authorizers", str(p, "authorizerId"), "Invalid Authorizer identifier specified");
    });
  });
  op(kV1, "GetAuthorizers", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out { return list_of(doc["authorizers"]); });
  });
  op(kV1, "DeleteAuthorizer", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      std::string id = str(p, "authorizerId");
      if (!doc["authorizers"].contains(id)) return not_found("Invalid Authorizer identifier specified");
      for (const auto& [_, r] : doc["resources"].items()) {
        for (const auto& [m, method] : r["resourceMethods"].items()) {
          if (str(method, "authorizerId") == id) {
            return conflict("Cannot delete authorizer " + id + ": it is used by method " + m + " " + str(r, "path"));
          }
        }
      }
      doc["authorizers"].erase(id);
      return empty_status(202);
    });
  });

  // Deployments (snapshots of resources and authorizers) and stages.
  op(kV1, "CreateDeployment", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      bool any_method = false;
      for (const auto& [_, r] : doc["resources"].items()) {
        if (!r["resourceMethods"].empty()) any_method = true;
        for (const auto& [m, method] : r["resourceMethods"].items()) {
          if (!method.contains("methodIntegration")) {
            return bad_request("No integration defined for method");
          }
        }
      }
      if (!any_method) return bad_request("The REST API doesn't contain any methods");
      if (auto err = stage_variables_error(p, "variables")) return std::move(*err);
      json dep{{"id", new_id(6)}, {"createdDate", now_s(ctx)}};
      if (p.contains("description")) dep["description"] = p["description"];
      json shown = dep;
      dep["snapshot"] = json{{"resources", doc["resources"]}, {"authorizers", doc["authorizers"]}};
      std::string id = dep["id"];
      doc["deployments"][id] = std::move(dep);
      std::string stage = str(p, "stageName");
      if (!stage.empty()) {
        json& s = doc["stages"][stage];
        if (s.is_null()) {
          s = json{{"stageName", stage}, {"createdDate", now_s(ctx)}, {"variables", json::object()},
                   {"cacheClusterEnabled", false}, {"cacheClusterStatus", "NOT_AVAILABLE"}, {"tracingEnabled", false}};
          if (p.contains("stageDescription")) s["description"] = p["stageDescription"];
        }
        if (p.contains("variables")) {
          for (const auto& [k, v] : p["variables"].items()) s["variables"][k] = v;
        }
        s["deploymentId"] = id;
        s["lastUpdatedDate"] = now_s(ctx);
      }
      return OperationOutput(shown);
    });
  });
  op(kV1, "GetDeployment", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      return child_or_not_found(doc, "deployments", str(p, "deploymentId"), "Invalid Deployment identifier specified");
    });
  });
  op(kV1, "GetDeployments", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out { return list_of(doc["deployments"]); });
  });
  op(kV1, "DeleteDeployment", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      std::string id = str(p, "deploymentId");
      if (!doc["deployments"].contains(id)) return not_found("Invalid Deployment identifier specified");
      for (const auto& [_, s] : doc["stages"].items()) {
        if (str(s, "deploymentId") == id) {
          return bad_request("Active stages pointing to this deployment must be moved or deleted");
        }
      }
      doc["deployments"].erase(id);
      return empty_status(202);
    });
  });
  op(kV1, "CreateStage", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      std::string name = str(p, "stageName");
      if (doc["stages"].contains(name)) return conflict("Stage already exists");
      if (!doc["deployments"].contains(str(p, "deploymentId"))) return bad_request("Invalid deployment identifier specified");
      if (auto err = stage_variables_error(p, "variables")) return std::move(*err);
      json s = without(p, {"restApiId"});
      s["createdDate"] = now_s(ctx);
      s["lastUpdatedDate"] = now_s(ctx);
      s.emplace("variables", json::object());
      s.emplace("cacheClusterEnabled", false);
      s["cacheClusterStatus"] = "NOT_AVAILABLE";
      s.emplace("tracingEnabled", false);
      doc["stages"][name] = s;
      return OperationOutput(s);
    });
  });
  op(kV1, "GetStage", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      return child_or_not_found(doc, "stages", str(p, "stageName"), "Invalid Stage identifier specified");
    });
  });
  op(kV1, "GetStages", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      json filtered = json::object();
      for (const auto& [name, s] : doc["stages"].items()) {
        if (!p.contains("deploymentId") || str(s, "deploymentId") == str(p, "deploymentId")) filtered[name] = s;
      }
      return list_of(filtered, "item");
    });
  });
  op(kV1, "UpdateStage", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      std::string name = str(p, "stageName");
      if (!doc["stages"].contains(name)) return not_found("Invalid Stage identifier specified");
      json stage = doc["stages"][name];
      if (auto err = patch_stage(stage, p.value("patchOperations", json::array()), doc)) return std::move(*err);
      stage["lastUpdatedDate"] = now_s(ctx);
      doc["stages"][name] = stage;
      return OperationOutput(stage);
    });
  });
  op(kV1, "DeleteStage", [this](RequestContext& ctx, Params& p) -> Out {
    return with_api(ctx, str(p, "restApiId"), false, [&](json& doc) -> Out {
      std::string name = str(p, "stageName");
      if (!doc["stages"].contains(name)) return not_found("Invalid Stage identifier specified");
      doc["stages"].erase(name);
      return empty_status(202);
    });
  });
}

}  // namespace sless::services::apigateway
