// SAM APIs (AWS::Serverless::Api and ::HttpApi) as API Gateway documents (see
// services/apigateway/apigateway.h): their routes come from the functions' Api/HttpApi events
// (gathered by the planner under "__sless_routes", with resolved function ARNs), their
// authorizers, CORS and stage from the properties. The document carries "__stage", the stage the
// stack's own port serves. Pure; any thread.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "stack/resource_types.h"

namespace sless::stack {

Result<nlohmann::json> http_api_document(const Provisioner& p, const std::string& logical, const nlohmann::json& props);
Result<nlohmann::json> rest_api_document(const Provisioner& p, const std::string& logical, const nlohmann::json& props);

}  // namespace sless::stack
