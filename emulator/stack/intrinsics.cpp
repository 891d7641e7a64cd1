#include "stack/intrinsics.h"

#include "core/encoding.h"

namespace sless::stack {

using nlohmann::json;

namespace {

// A single-key object whose key is an intrinsic: its name, else empty.
std::string intrinsic_of(const json& v) {
  if (!v.is_object() || v.size() != 1) return {};
  const std::string& k = v.begin().key();
  if (k == "Ref" || k == "Condition" || k.rfind("Fn::", 0) == 0) return k;
  return {};
}

// The ${...} variables of a Fn::Sub string ("${!x}" is a literal).
Status sub_variables(const std::string& s, std::vector<std::string>& out) {
  size_t pos = 0;
  while ((pos = s.find("${", pos)) != std::string::npos) {
    auto end = s.find('}', pos);
    if (end == std::string::npos) return Status::invalid_argument("Fn::Sub: unclosed ${ in \"" + s + "\"");
    std::string name = s.substr(pos + 2, end - pos - 2);
    if (!name.empty() && name[0] != '!') out.push_back(name);
    pos = end + 1;
  }
  return Status::ok();
}

const json kNoValue = json{{"__sless_no_value", true}};
bool is_no_value(const json& v) { return v.is_object() && v.contains("__sless_no_value"); }

}  // namespace

bool is_pseudo_parameter(const std::string& name) {
  return name == "AWS::Region" || name == "AWS::AccountId" || name == "AWS::StackName" || name == "AWS::StackId" ||
         name == "AWS::Partition" || name == "AWS::URLSuffix" || name == "AWS::NoValue" ||
         name == "AWS::NotificationARNs";
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "";
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ",") + scalar_text(e);
    return out;
  }
  return v.dump();
}

Status collect_refs(const json& value, std::set<std::string>& names, std::set<std::string>& conditions) {
  std::string fn = intrinsic_of(value);
  if (fn.empty()) {
    if (value.is_object() || value.is_array()) {
      for (const auto& child : value) {
        if (Status st = collect_refs(child, names, conditions); !st.is_ok()) return st;
      }
    }
    return Status::ok();
  }
  const json& arg = value.begin().value();
  if (fn == "Ref") {
    if (!arg.is_string()) return Status::invalid_argument("Ref takes a name");
    names.insert(arg.get<std::string>());
    return Status::ok();
  }
  if (fn == "Condition") {
    if (!arg.is_string()) return Status::invalid_argument("Condition takes a name");
    conditions.insert(arg.get<std::string>());
    return Status::ok();
  }
  if (fn == "Fn::GetAtt") {
    if (arg.is_string()) {
      std::string s = arg.get<std::string>();
      names.insert(s.substr(0, s.find('.')));
      return Status::ok();
    }
    if (!arg.is_array() || arg.size() != 2 || !arg[0].is_string()) {
      return Status::invalid_argument("Fn::GetAtt takes [resource, attribute]");
    }
    names.insert(arg[0].get<std::string>());
    return collect_refs(arg[1], names, conditions);
  }
  if (fn == "Fn::Sub") {
    std::string text;
    json vars = json::object();
    if (arg.is_string()) {
      text = arg.get<std::string>();
    } else if (arg.is_array() && arg.size() == 2 && arg[0].is_string() && arg[1].is_object()) {
      text = arg[0].get<std::string>();
      vars = arg[1];
    } else {
      return Status::invalid_argument("Fn::Sub takes a string or [string, {variables}]");
    }
    std::vector<std::string> used;
    if (Status st = sub_variables(text, used); !st.is_ok()) return st;
    for (const auto& u : used) {
      if (!vars.contains(u)) names.insert(u.substr(0, u.find('.')));
    }
    return collect_refs(vars, names, conditions);
  }
  if (fn == "Fn::If") {
    if (!arg.is_array() || arg.size() != 3 || !arg[0].is_string()) {
      return Status::invalid_argument("Fn::If takes [condition, value if true, value if false]");
    }
    conditions.insert(arg[0].get<std::string>());
    if (Status st = collect_refs(arg[1], names, conditions); !st.is_ok()) return st;
    return collect_refs(arg[2], names, conditions);
  }
  if (fn == "Fn::ImportValue") {
    return Status::invalid_argument("Fn::ImportValue is not supported: sless runs one stack, there are no exports to import");
  }
  static const std::set<std::string> kKnown = {"Fn::Join", "Fn::Select", "Fn::Split", "Fn::Equals", "Fn::Not",
                                               "Fn::And", "Fn::Or", "Fn::FindInMap", "Fn::Base64", "Fn::GetAZs"};
  if (!kKnown.count(fn)) return Status::invalid_argument(fn + " is not a supported intrinsic function");
  return collect_refs(arg, names, conditions);
}

Result<bool> eval_condition(const json& expr, const Scope& scope,
                            const std::function<Result<bool>(const std::string&)>& named) {
  std::string fn = intrinsic_of(expr);
  if (fn == "Condition") return named(expr["Condition"].get<std::string>());
  if (expr.is_boolean()) return expr.get<bool>();
  if (fn == "Fn::Equals") {
    const json& a = expr[fn];
    if (!a.is_array() || a.size() != 2) return Status::invalid_argument("Fn::Equals takes two values");
    auto l = resolve(a[0], scope);
    if (!l.ok()) return l.status();
    auto r = resolve(a[1], scope);
    if (!r.ok()) return r.status();
    return scalar_text(l.value()) == scalar_text(r.value());
  }
  if (fn == "Fn::Not" || fn == "Fn::And" || fn == "Fn::Or") {
    const json& a = expr[fn];
    if (!a.is_array() || a.empty()) return Status::invalid_argument(fn + " takes a list of conditions");
    if (fn == "Fn::Not") {
      auto v = eval_condition(a[0], scope, named);
      if (!v.ok()) return v;
      return !v.value();
    }
    bool all = true, any = false;
    for (const auto& c : a) {
      auto v = eval_condition(c, scope, named);
      if (!v.ok()) return v;
      all = all && v.value();
      any = any || v.value();
    }
    return fn == "Fn::And" ? all : any;
  }
  return Status::invalid_argument("a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition");
}

namespace {

Result<json> resolve_inner(const json& value, const Scope& scope);

Result<json> ref_value(const std::string& name, const Scope& scope) {
  if (name == "AWS::NoValue") return kNoValue;
  auto p = scope.parameters.find(name);
  if (p != scope.parameters.end()) return p->second;
  if (scope.ref) {
    if (auto v = scope.ref(name)) return *v;
  }
  return Status::invalid_argument("unknown reference " + name);
}

Result<json> att_value(const std::string& name, const std::string& attr, const Scope& scope) {
  if (scope.get_att) {
    if (auto v = scope.get_att(name, attr)) return *v;
  }
  return Status::invalid_argument("unknown attribute " + name + "." + attr);
}

Result<json> resolve_sub(const json& arg, const Scope& scope) {
  std::string text;
  json vars = json::object();
  if (arg.is_string()) {
    text = arg.get<std::string>();
  } else if (arg.is_array() && arg.size() == 2 && arg[0].is_string()) {
    text = arg[0].get<std::string>();
    auto v = resolve_inner(arg[1], scope);
    if (!v.ok()) return v;
    vars = std::move(v).value();
  } else {
    return Status::invalid_argument("Fn::Sub takes a string or [string, {variables}]");
  }
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t start = text.find("${", pos);
    if (start == std::string::npos) {
      out += text.substr(pos);
      return json(out);
    }
    size_t end = text.find('}', start);
    if (end == std::string::npos) return Status::invalid_argument("Fn::Sub: unclosed ${");
    out += text.substr(pos, start - pos);
    std::string name = text.substr(start + 2, end - start - 2);
    pos = end + 1;
    if (!name.empty() && name[0] == '!') {
      out += "${" + name.substr(1) + "}";
      continue;
    }
    Result<json> v = json();
    if (vars.contains(name)) {
      v = vars[name];
    } else if (auto dot = name.find('.'); dot != std::string::npos && !is_pseudo_parameter(name)) {
      v = att_value(name.substr(0, dot), name.substr(dot + 1), scope);
    } else {
      v = ref_value(name, scope);
    }
    if (!v.ok()) return v;
    out += scalar_text(v.value());
  }
}

Result<json> resolve_inner(const json& value, const Scope& scope) {
  std::string fn = intrinsic_of(value);
  if (fn.empty()) {
    if (value.is_object()) {
      json out = json::object();
      for (const auto& [k, v] : value.items()) {
        auto r = resolve_inner(v, scope);
        if (!r.ok()) return r;
        if (!is_no_value(r.value())) out[k] = std::move(r).value();
      }
      return out;
    }
    if (value.is_array()) {
      json out = json::array();
      for (const auto& v : value) {
        auto r = resolve_inner(v, scope);
        if (!r.ok()) return r;
        if (!is_no_value(r.value())) out.push_back(std::move(r).value());
      }
      return out;
    }
    return value;
  }
  const json& arg = value.begin().value();
  if (fn == "Ref") return ref_value(arg.get<std::string>(), scope);
  if (fn == "Fn::GetAtt") {
    if (arg.is_string()) {
      std::string s = arg.get<std::string>();
      auto dot = s.find('.');
      if (dot == std::string::npos) return Status::invalid_argument("Fn::GetAtt takes Resource.Attribute");
      return att_value(s.substr(0, dot), s.substr(dot + 1), scope);
    }
    auto attr = resolve_inner(arg[1], scope);
    if (!attr.ok()) return attr;
    return att_value(arg[0].get<std::string>(), scalar_text(attr.value()), scope);
  }
  if (fn == "Fn::Sub") return resolve_sub(arg, scope);
  if (fn == "Fn::If") {
    auto it = scope.conditions ? scope.conditions->find(arg[0].get<std::string>()) : std::map<std::string, bool>::const_iterator();
    if (!scope.conditions || it == scope.conditions->end()) {
      return Status::invalid_argument("unknown condition " + arg[0].get<std::string>());
    }
    return resolve_inner(it->second ? arg[1] : arg[2], scope);
  }
  if (fn == "Fn::Equals" || fn == "Fn::Not" || fn == "Fn::And" || fn == "Fn::Or" || fn == "Condition") {
    auto named = [&scope](const std::string& n) -> Result<bool> {
      if (!scope.conditions || !scope.conditions->count(n)) return Status::invalid_argument("unknown condition " + n);
      return scope.conditions->at(n);
    };
    auto b = eval_condition(value, scope, named);
    if (!b.ok()) return b.status();
    return json(b.value());
  }
  auto a = resolve_inner(arg, scope);
  if (!a.ok()) return a;
  const json& r = a.value();
  if (fn == "Fn::Join") {
    if (!r.is_array() || r.size() != 2 || !r[0].is_string() || !r[1].is_array()) {
      return Status::invalid_argument("Fn::Join takes [delimiter, [values]]");
    }
    std::string out;
    for (size_t i = 0; i < r[1].size(); ++i) {
      if (r[1][i].is_object() || r[1][i].is_array()) {
        return Status::invalid_argument("Fn::Join: the values to join must be strings, not " + r[1][i].dump());
      }
      out += (i ? r[0].get<std::string>() : "") + scalar_text(r[1][i]);
    }
    return json(out);
  }
  if (fn == "Fn::Select") {
    if (!r.is_array() || r.size() != 2) return Status::invalid_argument("Fn::Select takes [index, [values]]");
    const json& list = r[1];
    std::string idx = scalar_text(r[0]);
    size_t i = static_cast<size_t>(std::strtoul(idx.c_str(), nullptr, 10));
    if (!list.is_array() || i >= list.size()) return Status::invalid_argument("Fn::Select: index " + idx + " is out of range");
    return list[i];
  }
  if (fn == "Fn::Split") {
    if (!r.is_array() || r.size() != 2 || !r[0].is_string() || !r[1].is_string()) {
      return Status::invalid_argument("Fn::Split takes [delimiter, string]");
    }
    std::string delim = r[0].get<std::string>();
    std::string s = r[1].get<std::string>();
    if (delim.empty()) return Status::invalid_argument("Fn::Split: the delimiter is empty");
    json out = json::array();
    size_t pos = 0;
    for (;;) {
      size_t next = s.find(delim, pos);
      out.push_back(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
      if (next == std::string::npos) break;
      pos = next + delim.size();
    }
    return out;
  }
  if (fn == "Fn::FindInMap") {
    if (!r.is_array() || r.size() != 3) return Status::invalid_argument("Fn::FindInMap takes [map, key, key]");
    std::string m = scalar_text(r[0]), k1 = scalar_text(r[1]), k2 = scalar_text(r[2]);
    if (!scope.mappings || !scope.mappings->contains(m) || !(*scope.mappings)[m].contains(k1) ||
        !(*scope.mappings)[m][k1].contains(k2)) {
      return Status::invalid_argument("Fn::FindInMap: no value at " + m + "." + k1 + "." + k2);
    }
    return (*scope.mappings)[m][k1][k2];
  }
  if (fn == "Fn::Base64") return json(enc::base64_encode(scalar_text(r)));
  if (fn == "Fn::GetAZs") return json::array({scope.region + "a", scope.region + "b", scope.region + "c"});
  return Status::invalid_argument(fn + " is not supported");
}

}  // namespace

Result<json> resolve(const json& value, const Scope& scope) {
  auto r = resolve_inner(value, scope);
  if (!r.ok()) return r;
  if (is_no_value(r.value())) return json(nullptr);
  return r;
}

}  // namespace sless::stack
