// fuzz_stack: SAM/CloudFormation templates. An input is a template text (YAML or JSON). It goes
// through stack::plan_stack_text (parse_template with the short-form tags and key lines, then
// parameters, conditions, Globals, SAM expansion, references, cycles and property checks), and
// each planned resource's properties and the Outputs go through stack::resolve, as deploy_stack
// would resolve them, with every resource "deployed" (Ref gives its logical id, Fn::GetAtt a
// string). Invariants: nothing throws or crashes; a failed plan has a message; a plan has
// resources, each with a logical id and type, ordered so that dependencies come first; resolving
// fails with a message or gives a tree free of Ref / Fn:: intrinsics.
#include <set>
#include <string>

#include "fuzz_target.h"
#include "stack/intrinsics.h"
#include "stack/stack.h"
#include "stack/template.h"

namespace {

using namespace sless;
using nlohmann::json;

// No intrinsic function objects left.
bool resolved(const json& v, int depth = 0) {
  if (depth > 600) return true;
  if (v.is_object()) {
    if (v.size() == 1) {
      const std::string& k = v.begin().key();
      if (k == "Ref" || k.rfind("Fn::", 0) == 0) return false;
    }
    for (const auto& [k, e] : v.items()) {
      if (!resolved(e, depth + 1)) return false;
    }
  } else if (v.is_array()) {
    for (const auto& e : v) {
      if (!resolved(e, depth + 1)) return false;
    }
  }
  return true;
}

void check_resolved(const Result<json>& r) {
  if (!r.ok()) {
    FUZZ_CHECK(!r.status().message().empty());
    return;
  }
  FUZZ_CHECK(resolved(r.value()));
}

}  // namespace

SLESS_FUZZ_TARGET(stack) {
  std::string text(reinterpret_cast<const char*>(data), size);

  // The document reader alone (the line map must point at keys that exist).
  auto doc = stack::parse_template(text);
  if (!doc.ok()) {
    FUZZ_CHECK(!doc.status().message().empty());
  } else {
    for (const auto& [pointer, line] : doc.value().lines) {
      FUZZ_CHECK(line >= 1);
      (void)doc.value().line_of(pointer + "/x/y");
    }
  }

  stack::StackOptions options;
  options.template_path = "/nonexistent/sless-fuzz/template.yaml";
  options.stack_name = "fuzz";
  auto plan = stack::plan_stack_text(text, options, nullptr);
  if (!plan.ok()) {
    FUZZ_CHECK(!plan.status().message().empty());
    return 0;
  }
  const stack::Plan& p = plan.value();
  FUZZ_CHECK(!p.resources.empty());
  std::set<std::string> seen;
  for (const auto& r : p.resources) {
    FUZZ_CHECK(!r.logical_id.empty());
    FUZZ_CHECK(!r.type.empty());
    for (const auto& d : r.depends_on) FUZZ_CHECK(seen.count(d) == 1);
    seen.insert(r.logical_id);
  }

  stack::Scope scope;
  scope.parameters = p.parameters;
  scope.parameters["AWS::Region"] = options.region;
  scope.parameters["AWS::AccountId"] = options.account;
  scope.parameters["AWS::StackName"] = p.stack_name;
  scope.parameters["AWS::StackId"] = "arn:aws:cloudformation:us-east-1:000000000000:stack/fuzz/sless";
  scope.parameters["AWS::Partition"] = "aws";
  scope.parameters["AWS::URLSuffix"] = "amazonaws.com";
  scope.parameters["AWS::NotificationARNs"] = json::array();
  scope.conditions = &p.conditions;
  scope.mappings = &p.mappings;
  scope.region = options.region;
  scope.ref = [&](const std::string& name) -> std::optional<json> {
    if (!seen.count(name)) return std::nullopt;
    return json("physical-" + name);
  };
  scope.get_att = [&](const std::string& name, const std::string& attr) -> std::optional<json> {
    if (!seen.count(name)) return std::nullopt;
    return json(name + "." + attr);
  };
  for (const auto& r : p.resources) {
    check_resolved(stack::resolve(r.properties, scope));
  }
  if (p.outputs.is_object()) {
    for (const auto& [name, out] : p.outputs.items()) {
      if (out.is_object() && out.contains("Value")) check_resolved(stack::resolve(out["Value"], scope));
    }
  }
  return 0;
}
