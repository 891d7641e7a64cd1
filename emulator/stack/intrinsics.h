// Intrinsic functions of templates: finding what a value refers to (for dependency order) and
// resolving Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If, Fn::Equals,
// Fn::Not/And/Or, Fn::FindInMap, Fn::Base64, Fn::GetAZs against parameters, pseudo parameters,
// conditions and deployed resources. Pure; any thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace sless::stack {

// Names a value refers to: `names` gets Ref / Fn::GetAtt / Fn::Sub targets (parameters, pseudo
// parameters and resources alike), `conditions` the conditions of Fn::If / Condition.
// Errors: malformed intrinsics and Fn::ImportValue.
Status collect_refs(const nlohmann::json& value, std::set<std::string>& names, std::set<std::string>& conditions);

bool is_pseudo_parameter(const std::string& name);

struct Scope {
  std::map<std::string, nlohmann::json> parameters;  // template parameters and pseudo parameters
  const std::map<std::string, bool>* conditions = nullptr;
  const nlohmann::json* mappings = nullptr;
  std::string region;
  // A deployed resource's Ref value and attributes (nullopt: unknown).
  std::function<std::optional<nlohmann::json>(const std::string&)> ref;
  std::function<std::optional<nlohmann::json>(const std::string&, const std::string&)> get_att;
};

// Resolves every intrinsic in `value`; members whose value is AWS::NoValue disappear.
Result<nlohmann::json> resolve(const nlohmann::json& value, const Scope& scope);

// Evaluates a condition expression (Fn::Equals/Not/And/Or, Condition, Ref to parameters).
// `named` evaluates other conditions by name.
Result<bool> eval_condition(const nlohmann::json& expr, const Scope& scope,
                            const std::function<Result<bool>(const std::string&)>& named);

// The text of a resolved scalar (numbers and booleans as CloudFormation writes them).
std::string scalar_text(const nlohmann::json& v);

// A member's scalar_text, or `fallback` when the member is absent or null.
inline std::string text_member(const nlohmann::json& p, const char* key, std::string fallback = {}) {
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return fallback;
  return scalar_text(*it);
}

}  // namespace sless::stack
