// Planning a stack: everything that can be checked before anything is created.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "services/apigateway/text.h"
#include "services/lambda/event_sources.h"
#include "services/registry.h"
#include "stack/intrinsics.h"
#include "stack/resource_types.h"
#include "stack/stack.h"

namespace sless::stack {

using services::apigateway::text::object_member;

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string where(const TemplateDoc& doc, const std::string& logical, const std::string& sub = "") {
  int line = doc.line_of("/Resources/" + logical + sub);
  return "Resources." + logical + (line ? " (line " + std::to_string(line) + ")" : "");
}

Status fail(const TemplateDoc& doc, const std::string& logical, const std::string& message, const std::string& sub = "") {
  return Status::invalid_argument(where(doc, logical, sub) + ": " + message);
}

// Globals: a resource's own properties win; maps merge (Environment.Variables, Tags).
void merge_globals(json& props, const json& globals) {
  for (const auto& [k, v] : globals.items()) {
    if (!props.contains(k)) {
      props[k] = v;
    } else if (props[k].is_object() && v.is_object()) {
      merge_globals(props[k], v);
    }
  }
}

std::string ref_name(const json& v) {
  if (v.is_object() && v.size() == 1 && v.contains("Ref") && v["Ref"].is_string()) return v["Ref"].get<std::string>();
  return {};
}

json get_att(const std::string& logical, const std::string& attr) {
  return json{{"Fn::GetAtt", json::array({logical, attr})}};
}

// The service whose stream or queue an event source ARN (or reference) names.
std::string source_service(const json& arn, const json& resources) {
  std::string name = ref_name(arn);
  if (arn.is_object() && arn.contains("Fn::GetAtt")) {
    const json& a = arn["Fn::GetAtt"];
    name = a.is_array() && !a.empty() ? a[0].get<std::string>() : a.get<std::string>().substr(0, a.get<std::string>().find('.'));
  }
  if (!name.empty() && resources.contains(name)) {
    std::string type = resources[name].value("Type", "");
    if (type == "AWS::SQS::Queue") return "sqs";
    if (type == "AWS::Kinesis::Stream") return "kinesis";
    if (type == "AWS::DynamoDB::Table" || type == "AWS::Serverless::SimpleTable") return "dynamodb";
  }
  if (arn.is_string()) {
    std::string s = arn.get<std::string>();
    if (s.rfind("arn:aws:", 0) == 0) {
      auto start = 8;
      return s.substr(start, s.find(':', start) - start);
    }
  }
  return {};
}

struct Expander {
  const TemplateDoc& doc;
  json& resources;  // the template's Resources, expanded in place
  json globals;

  void ensure_implicit_api(const std::string& name, const char* type, const char* globals_key) {
    if (resources.contains(name)) return;
    json props = json::object();
    if (std::string(type) == "AWS::Serverless::Api") props["StageName"] = "Prod";
    if (globals.contains(globals_key)) merge_globals(props, globals[globals_key]);
    resources[name] = json{{"Type", type}, {"Properties", props}};
  }

  Status expand_function(const std::string& logical) {
    json& res = resources[logical];
    json& props = res["Properties"];
    // (json::value() throws on anything but an object: check the shapes first; found by fuzz_stack.)
    if (props.is_null()) props = json::object();
    if (!props.is_object()) return fail(doc, logical, "Properties must be a mapping", "/Properties");
    json events = props.value("Events", json::object());
    props.erase("Events");
    if (!events.is_object()) return fail(doc, logical, "Events must be a mapping", "/Properties/Events");
    for (const auto& [event_name, ev] : events.items()) {
      std::string sub = "/Properties/Events/" + event_name;
      if (!ev.is_object()) return fail(doc, logical, "Events." + event_name + " must be a mapping", sub);
      std::string type = ev.contains("Type") && ev["Type"].is_string() ? ev["Type"].get<std::string>() : "";
      json p = ev.value("Properties", json::object());
      if (!p.is_object()) return fail(doc, logical, "Events." + event_name + ".Properties must be a mapping", sub);
      std::string synth = logical + event_name;
      if (type == "Api" || type == "HttpApi") {
        bool http = type == "HttpApi";
        json api_ref = p.value(http ? "ApiId" : "RestApiId", json(nullptr));
        std::string api = ref_name(api_ref);
        if (!api_ref.is_null() && api.empty()) {
          return fail(doc, logical, std::string(http ? "ApiId" : "RestApiId") + " must be a Ref to an API of this template", sub);
        }
        if (api.empty()) {
          api = http ? "ServerlessHttpApi" : "ServerlessRestApi";
          ensure_implicit_api(api, http ? "AWS::Serverless::HttpApi" : "AWS::Serverless::Api", http ? "HttpApi" : "Api");
        }
        if (!resources.contains(api) ||
            resources[api].value("Type", "") != (http ? "AWS::Serverless::HttpApi" : "AWS::Serverless::Api")) {
          return fail(doc, logical, "event " + event_name + " names " + api + ", which is not an " +
                                        (http ? "AWS::Serverless::HttpApi" : "AWS::Serverless::Api") + " of this template", sub);
        }
        if (!http && (!p.contains("Path") || !p.contains("Method"))) {
          return fail(doc, logical, "Api events need Path and Method", sub);
        }
        json route = p;
        route.erase(http ? "ApiId" : "RestApiId");
        route["Function"] = logical;
        route["FunctionArn"] = get_att(logical, "Arn");
        route["EventName"] = event_name;
        route["Line"] = doc.line_of("/Resources/" + logical + sub);
        resources[api]["__sless_routes"].push_back(route);
      } else if (type == "SQS" || type == "Kinesis" || type == "DynamoDB") {
        const char* source = type == "SQS" ? "Queue" : "Stream";
        if (!p.contains(source)) return fail(doc, logical, type + " events need " + source, sub);
        json m = p;
        m.erase(source);
        m["EventSourceArn"] = p[source];
        m["FunctionName"] = json{{"Ref", logical}};
        resources[synth] = json{{"Type", "AWS::Lambda::EventSourceMapping"}, {"Properties", m}, {"__sless_line_of", logical + sub}};
      } else if (type == "SNS") {
        if (!p.contains("Topic")) return fail(doc, logical, "SNS events need Topic", sub);
        json s{{"TopicArn", p["Topic"]}, {"Protocol", "lambda"}, {"Endpoint", get_att(logical, "Arn")}};
        if (p.contains("FilterPolicy")) s["FilterPolicy"] = p["FilterPolicy"];
        if (p.contains("FilterPolicyScope")) s["FilterPolicyScope"] = p["FilterPolicyScope"];
        resources[synth] = json{{"Type", "AWS::SNS::Subscription"}, {"Properties", s}, {"__sless_line_of", logical + sub}};
      } else if (type == "S3") {
        std::string bucket = ref_name(p.value("Bucket", json(nullptr)));
        if (bucket.empty() || !resources.contains(bucket) || resources[bucket].value("Type", "") != "AWS::S3::Bucket") {
          return fail(doc, logical, "S3 events need Bucket: !Ref <an AWS::S3::Bucket of this template>", sub);
        }
        json events_list = p.value("Events", json(nullptr));
        if (events_list.is_string()) events_list = json::array({events_list});
        if (!events_list.is_array()) return fail(doc, logical, "S3 events need Events (a list of event types)", sub);
        json& notif = resources[bucket]["Properties"]["NotificationConfiguration"];
        for (const auto& e : events_list) {
          json c{{"Event", e}, {"Function", get_att(logical, "Arn")}};
          if (p.contains("Filter")) c["Filter"] = p["Filter"];
          notif["LambdaConfigurations"].push_back(c);
        }
      } else if (type == "Schedule" || type == "EventBridgeRule") {
        json rule = json::object();
        if (type == "Schedule") {
          if (!p.contains("Schedule")) return fail(doc, logical, "Schedule events need Schedule", sub);
          rule["ScheduleExpression"] = p["Schedule"];
        } else {
          if (!p.contains("Pattern")) return fail(doc, logical, "EventBridgeRule events need Pattern", sub);
          rule["EventPattern"] = p["Pattern"];
          if (p.contains("EventBusName")) rule["EventBusName"] = p["EventBusName"];
        }
        rule["State"] = p.contains("Enabled") && p["Enabled"] == false ? "DISABLED" : "ENABLED";
        json target{{"Arn", get_att(logical, "Arn")}, {"Id", synth}};
        if (p.contains("Input")) target["Input"] = p["Input"];
        rule["Targets"] = json::array({target});
        resources[synth] = json{{"Type", "AWS::Events::Rule"}, {"Properties", rule}, {"__sless_line_of", logical + sub}};
      } else {
        return fail(doc, logical, "event type " + type + " of event " + event_name +
                                      " is not supported (Api, HttpApi, SQS, SNS, S3, Kinesis, DynamoDB, Schedule, "
                                      "EventBridgeRule)", sub);
      }
    }
    return Status::ok();
  }
};

// The property checks of one resource: required members and JSON kinds.
Status check_properties(const TemplateDoc& doc, const std::string& logical, const ResourceType& type, const json& props) {
  for (const auto& p : type.properties) {
    if (p.required && !props.contains(p.name)) {
      return fail(doc, logical, "property " + std::string(p.name) + " is required", "/Properties");
    }
  }
  if (auto bad = property_kind_error(type, props)) {
    return fail(doc, logical, bad->second, "/Properties/" + bad->first);
  }
  return Status::ok();
}

// Whether the services behind a resource type are implemented (else a clear "not supported yet").
Status check_supported(const TemplateDoc& doc, const std::string& logical, const ResourceType& type,
                       const json& props, const json& resources, const services::Registry* registry,
                       const std::string& line_of) {
  if (!registry) return Status::ok();
  for (const auto& [model, op] : type.requires_ops) {
    services::Service* s = registry->by_model(model);
    if (!s || !s->implements(op)) {
      return Status::invalid_argument(
          where(doc, line_of.empty() ? logical : line_of) + ": " + std::string(type.name) + " is not supported yet: " +
          std::string(model) + "." + std::string(op) + " is not implemented in this build");
    }
  }
  if (std::string_view(type.name) == "AWS::Lambda::EventSourceMapping") {
    std::string service = source_service(props.value("EventSourceArn", json(nullptr)), resources);
    if (service.empty()) return fail(doc, logical, "EventSourceArn must name an SQS queue, a Kinesis stream or a DynamoDB stream");
    if (!services::lambda::runner_supported(service)) {
      return Status::invalid_argument(where(doc, line_of.empty() ? logical : line_of) + ": " + service +
                                      " event sources are not supported yet: the Lambda service cannot poll " + service +
                                      " in this build");
    }
  }
  return Status::ok();
}

}  // namespace

Result<Plan> plan_stack(const StackOptions& options, const services::Registry* registry) {
  std::ifstream f(options.template_path, std::ios::binary);
  if (!f) return Status::not_found("cannot read the template " + options.template_path);
  std::stringstream ss;
  ss << f.rdbuf();
  return plan_stack_text(ss.str(), options, registry);
}

Result<Plan> plan_stack_text(const std::string& text, const StackOptions& options, const services::Registry* registry) {
  auto parsed = parse_template(text);
  if (!parsed.ok()) return Status::invalid_argument("template " + options.template_path + ": " + parsed.status().message());
  Plan plan;
  plan.options = options;
  plan.doc = std::move(parsed).value();
  const json& root = plan.doc.root;
  fs::path tpath = options.template_path.empty() ? fs::current_path() / "template.yaml" : fs::absolute(options.template_path);
  plan.template_dir = tpath.parent_path().string();
  plan.stack_name = options.stack_name;
  if (plan.stack_name.empty()) {
    std::string base = tpath.parent_path().filename().string();
    for (char& c : base) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
    }
    plan.stack_name = base.empty() || !std::isalpha(static_cast<unsigned char>(base[0])) ? "sless-" + base : base;
  }
  static const std::set<std::string> kSections = {"AWSTemplateFormatVersion", "Transform", "Description", "Metadata",
                                                  "Parameters", "Mappings", "Conditions", "Globals", "Resources",
                                                  "Outputs", "Rules"};
  for (const auto& [k, _] : root.items()) {
    if (!kSections.count(k)) {
      int line = plan.doc.line_of("/" + k);
      return Status::invalid_argument("line " + std::to_string(line) + ": unknown template section " + k);
    }
  }
  if (!root.contains("Resources") || !root["Resources"].is_object() || root["Resources"].empty()) {
    return Status::invalid_argument("the template has no Resources");
  }
  plan.mappings = root.value("Mappings", json::object());

  // Parameters: overrides, then defaults; typed and checked against AllowedValues.
  Scope scope;
  scope.region = options.region;
  scope.mappings = &plan.mappings;
  scope.parameters["AWS::Region"] = options.region;
  scope.parameters["AWS::AccountId"] = options.account;
  scope.parameters["AWS::StackName"] = plan.stack_name;
  scope.parameters["AWS::StackId"] = "arn:aws:cloudformation:" + options.region + ":" + options.account + ":stack/" +
                                     plan.stack_name + "/sless";
  scope.parameters["AWS::Partition"] = "aws";
  scope.parameters["AWS::URLSuffix"] = "amazonaws.com";
  scope.parameters["AWS::NotificationARNs"] = json::array();
  for (const auto& [name, _] : options.parameter_overrides) {
    if (!root.contains("Parameters") || !root["Parameters"].contains(name)) {
      return Status::invalid_argument("--parameter-overrides names " + name + ", which the template does not declare");
    }
  }
  for (const auto& [name, decl] : object_member(root, "Parameters").items()) {
    int line = plan.doc.line_of("/Parameters/" + name);
    std::string at = "Parameters." + name + " (line " + std::to_string(line) + ")";
    json value;
    if (auto o = options.parameter_overrides.find(name); o != options.parameter_overrides.end()) {
      value = o->second;
    } else if (decl.contains("Default")) {
      value = decl["Default"];
    } else {
      return Status::invalid_argument(at + ": no value (no Default; give one with --parameter-overrides " + name + "=...)");
    }
    if (decl.contains("Type") && !decl["Type"].is_string()) {
      return Status::invalid_argument(at + ": Type must be a string");  // (json::value() threw; found by fuzz_stack)
    }
    std::string type = decl.contains("Type") ? decl["Type"].get<std::string>() : "String";
    std::string text = scalar_text(value);
    if (decl.contains("AllowedValues") && decl["AllowedValues"].is_array()) {
      bool allowed = false;
      for (const auto& a : decl["AllowedValues"]) allowed = allowed || scalar_text(a) == text;
      if (!allowed) return Status::invalid_argument(at + ": " + text + " is not one of its AllowedValues");
    }
    if (type == "Number") {
      char* end = nullptr;
      std::strtod(text.c_str(), &end);
      if (text.empty() || *end) return Status::invalid_argument(at + ": " + text + " is not a Number");
      value = text;
    } else if (type == "CommaDelimitedList" || type.rfind("List<", 0) == 0) {
      json list = json::array();
      size_t pos = 0;
      for (;;) {
        size_t c = text.find(',', pos);
        std::string part = text.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
        while (!part.empty() && part.front() == ' ') part.erase(0, 1);
        while (!part.empty() && part.back() == ' ') part.pop_back();
        list.push_back(part);
        if (c == std::string::npos) break;
        pos = c + 1;
      }
      value = list;
    } else {
      value = text;
    }
    scope.parameters[name] = value;
    plan.parameters[name] = value;
  }

  // Conditions.
  const json conditions = root.value("Conditions", json::object());
  std::set<std::string> evaluating;
  std::function<Result<bool>(const std::string&)> named = [&](const std::string& n) -> Result<bool> {
    if (auto it = plan.conditions.find(n); it != plan.conditions.end()) return it->second;
    if (!conditions.contains(n)) return Status::invalid_argument("unknown condition " + n);
    if (!evaluating.insert(n).second) return Status::invalid_argument("condition " + n + " refers to itself");
    auto v = eval_condition(conditions[n], scope, named);
    if (!v.ok()) {
      int line = plan.doc.line_of("/Conditions/" + n);
      return Status::invalid_argument("Conditions." + n + " (line " + std::to_string(line) + "): " + v.status().message());
    }
    plan.conditions[n] = v.value();
    return v;
  };
  for (const auto& [n, _] : conditions.items()) {
    auto v = named(n);
    if (!v.ok()) return v.status();
  }

  // Resources: conditions, Globals, SAM expansion.
  json resources = json::object();
  for (const auto& [logical, res] : root["Resources"].items()) {
    if (!res.is_object() || !res.contains("Type") || !res["Type"].is_string()) {
      return fail(plan.doc, logical, "a resource needs a Type");
    }
    if (res.contains("Condition")) {
      std::string c = res["Condition"].is_string() ? res["Condition"].get<std::string>() : "";
      auto v = named(c);
      if (!v.ok()) return fail(plan.doc, logical, v.status().message(), "/Condition");
      if (!v.value()) continue;
    }
    json r = res;
    if (!r.contains("Properties")) r["Properties"] = json::object();
    if (!r["Properties"].is_object()) return fail(plan.doc, logical, "Properties must be a mapping", "/Properties");
    resources[logical] = std::move(r);
  }
  Expander ex{plan.doc, resources, root.value("Globals", json::object())};
  static const std::map<std::string, std::string> kGlobals = {{"AWS::Serverless::Function", "Function"},
                                                              {"AWS::Serverless::Api", "Api"},
                                                              {"AWS::Serverless::HttpApi", "HttpApi"},
                                                              {"AWS::Serverless::SimpleTable", "SimpleTable"}};
  for (auto& [logical, res] : resources.items()) {
    auto g = kGlobals.find(res["Type"].get<std::string>());
    if (g != kGlobals.end() && ex.globals.contains(g->second)) merge_globals(res["Properties"], ex.globals[g->second]);
  }
  std::vector<std::string> functions;
  for (const auto& [logical, res] : resources.items()) {
    if (res["Type"] == "AWS::Serverless::Function") functions.push_back(logical);
  }
  for (const auto& fn : functions) {
    if (Status st = ex.expand_function(fn); !st.is_ok()) return st;
  }

  // Types, properties, references.
  std::map<std::string, PlannedResource> planned;
  for (const auto& [logical, res] : resources.items()) {
    std::string type_name = res["Type"].get<std::string>();
    std::string line_of = res.value("__sless_line_of", "");
    const ResourceType* type = find_resource_type(type_name);
    if (!type) {
      return fail(plan.doc, line_of.empty() ? logical : line_of,
                  "resource type " + type_name + " is not supported by sless (see docs/services.md)", "/Type");
    }
    if (Status st = check_properties(plan.doc, logical, *type, res["Properties"]); !st.is_ok()) return st;
    PlannedResource pr;
    pr.logical_id = logical;
    pr.type = type_name;
    pr.properties = res["Properties"];
    if (res.contains("__sless_routes")) pr.properties["__sless_routes"] = res["__sless_routes"];
    pr.line = plan.doc.line_of("/Resources/" + (line_of.empty() ? logical : line_of));
    std::set<std::string> names, conds;
    if (Status st = collect_refs(pr.properties, names, conds); !st.is_ok()) return fail(plan.doc, logical, st.message());
    for (const auto& c : conds) {
      if (!plan.conditions.count(c)) return fail(plan.doc, logical, "unknown condition " + c);
    }
    for (const auto& n : names) {
      if (scope.parameters.count(n) || is_pseudo_parameter(n)) continue;
      if (!resources.contains(n)) {
        return fail(plan.doc, line_of.empty() ? logical : line_of,
                    "unknown reference " + n + " (not a parameter or resource of this template)");
      }
      pr.depends_on.push_back(n);
    }
    for (const auto& r : pr.properties.value("__sless_routes", json::array())) pr.depends_on.push_back(r["Function"]);
    if (res.contains("DependsOn")) {
      json deps = res["DependsOn"].is_string() ? json::array({res["DependsOn"]}) : res["DependsOn"];
      for (const auto& d : deps) {
        if (!d.is_string() || !resources.contains(d.get<std::string>())) {
          return fail(plan.doc, logical, "DependsOn names " + d.dump() + ", which is not a resource of this template",
                      "/DependsOn");
        }
        pr.depends_on.push_back(d.get<std::string>());
      }
    }
    std::sort(pr.depends_on.begin(), pr.depends_on.end());
    pr.depends_on.erase(std::unique(pr.depends_on.begin(), pr.depends_on.end()), pr.depends_on.end());
    if (Status st = check_supported(plan.doc, logical, *type, pr.properties, resources, registry, line_of); !st.is_ok()) {
      return st;
    }
    planned[logical] = std::move(pr);
  }

  // Dependency order (Kahn's algorithm, alphabetical among equals); what remains is a cycle.
  std::map<std::string, int> pending;
  for (const auto& [n, pr] : planned) pending[n] = static_cast<int>(pr.depends_on.size());
  std::vector<std::string> ready;
  for (const auto& [n, c] : pending) {
    if (c == 0) ready.push_back(n);
  }
  std::map<std::string, int> level;
  while (!ready.empty()) {
    std::sort(ready.begin(), ready.end(), std::greater<>());
    std::string n = ready.back();
    ready.pop_back();
    PlannedResource pr = planned[n];
    int lvl = 0;
    for (const auto& d : pr.depends_on) lvl = std::max(lvl, level[d] + 1);
    level[n] = lvl;
    pr.level = lvl;
    plan.resources.push_back(pr);
    for (auto& [m, other] : planned) {
      if (std::find(other.depends_on.begin(), other.depends_on.end(), n) != other.depends_on.end() && --pending[m] == 0) {
        ready.push_back(m);
      }
    }
  }
  if (plan.resources.size() != planned.size()) {
    std::string cycle;
    for (const auto& [n, c] : pending) {
      if (c > 0) cycle += (cycle.empty() ? "" : ", ") + n;
    }
    std::string first = cycle.substr(0, cycle.find(','));
    return fail(plan.doc, first, "circular dependency between resources: " + cycle);
  }

  // Outputs: references checked now, values resolved after deployment.
  plan.outputs = root.value("Outputs", json::object());
  for (const auto& [name, out] : plan.outputs.items()) {
    int line = plan.doc.line_of("/Outputs/" + name);
    std::set<std::string> names, conds;
    if (!out.is_object() || !out.contains("Value")) {
      return Status::invalid_argument("Outputs." + name + " (line " + std::to_string(line) + "): an output needs a Value");
    }
    if (Status st = collect_refs(out, names, conds); !st.is_ok()) {
      return Status::invalid_argument("Outputs." + name + " (line " + std::to_string(line) + "): " + st.message());
    }
    for (const auto& n : names) {
      if (!scope.parameters.count(n) && !is_pseudo_parameter(n) && !planned.count(n)) {
        return Status::invalid_argument("Outputs." + name + " (line " + std::to_string(line) + "): unknown reference " + n);
      }
    }
  }
  return plan;
}

std::optional<std::pair<std::string, std::string>> property_kind_error(const ResourceType& type, const json& props) {
  if (!props.is_object()) return std::nullopt;
  for (const auto& p : type.properties) {
    auto it = props.find(p.name);
    if (it == props.end()) continue;
    const json& v = *it;
    bool intrinsic = v.is_object() && v.size() == 1 &&
                     (v.begin().key() == "Ref" || v.begin().key().rfind("Fn::", 0) == 0);
    if (intrinsic) continue;
    bool ok = true;
    switch (p.kind) {
      case Kind::kString:
        ok = v.is_string() || v.is_number() || v.is_boolean();
        break;
      case Kind::kInteger:
        ok = v.is_number_integer() || (v.is_string() && !v.get<std::string>().empty() &&
                                       v.get<std::string>().find_first_not_of("0123456789") == std::string::npos);
        break;
      case Kind::kBoolean:
        ok = v.is_boolean() || (v.is_string() && (v == "true" || v == "false"));
        break;
      case Kind::kList:
        ok = v.is_array();
        break;
      case Kind::kMap:
        ok = v.is_object();
        break;
      case Kind::kAny:
        break;
    }
    if (!ok) {
      static const char* kNames[] = {"a string", "an integer", "a boolean", "a list", "a mapping", "anything"};
      return std::make_pair(std::string(p.name), "property " + std::string(p.name) + " must be " +
                                                     kNames[static_cast<int>(p.kind)] + ", not " + v.dump());
    }
  }
  return std::nullopt;
}

}  // namespace sless::stack
