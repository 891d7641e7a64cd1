#include "services/sns/filter_policy.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "core/encoding.h"

namespace sless::services::sns {
namespace {

using json = nlohmann::json;

bool glob(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p, ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Parses "a.b.c.d/n" or an IPv6 prefix; fills the network bytes, their count and the prefix.
bool parse_cidr(const std::string& cidr, std::array<unsigned char, 16>* net, int* bytes, int* prefix) {
  auto slash = cidr.find('/');
  std::string addr = cidr.substr(0, slash);
  int bits = -1;
  if (slash != std::string::npos) {
    try {
      bits = std::stoi(cidr.substr(slash + 1));
    } catch (...) {
      return false;
    }
  }
  if (inet_pton(AF_INET, addr.c_str(), net->data()) == 1) {
    *bytes = 4;
  } else if (inet_pton(AF_INET6, addr.c_str(), net->data()) == 1) {
    *bytes = 16;
  } else {
    return false;
  }
  if (bits < 0) bits = *bytes * 8;
  if (bits > *bytes * 8) return false;
  *prefix = bits;
  return true;
}

bool in_cidr(const std::string& cidr, const std::string& ip) {
  std::array<unsigned char, 16> net{}, addr{};
  int bytes = 0, prefix = 0, abytes = 0, aprefix = 0;
  if (!parse_cidr(cidr, &net, &bytes, &prefix) || !parse_cidr(ip, &addr, &abytes, &aprefix) || bytes != abytes) {
    return false;
  }
  for (int i = 0; i < bytes && prefix > 0; ++i, prefix -= 8) {
    unsigned char mask = prefix >= 8 ? 0xFF : static_cast<unsigned char>(0xFF << (8 - prefix));
    if ((net[i] & mask) != (addr[i] & mask)) return false;
  }
  return true;
}

bool numeric_holds(const json& ops, double v) {
  for (size_t i = 0; i + 1 < ops.size(); i += 2) {
    std::string op = ops[i].get<std::string>();
    double n = ops[i + 1].get<double>();
    bool ok = op == "=" ? v == n : op == "<" ? v < n : op == "<=" ? v <= n : op == ">" ? v > n : op == ">=" ? v >= n : false;
    if (!ok) return false;
  }
  return true;
}

// One literal or operator object against one present value.
bool value_matches(const json& cond, const json& v) {
  if (cond.is_string()) return v.is_string() && v.get_ref<const std::string&>() == cond.get_ref<const std::string&>();
  if (cond.is_number()) return v.is_number() && v.get<double>() == cond.get<double>();
  if (cond.is_boolean()) return v.is_boolean() && v == cond;
  if (cond.is_null()) return v.is_null();
  if (!cond.is_object() || cond.empty()) return false;
  // (Not a structured binding on *items().begin(): that binds to a temporary that dies at once.)
  const auto first = cond.begin();
  const std::string& op = first.key();
  const json& arg = first.value();
  if (op == "prefix") {
    if (arg.is_object() && arg.contains("equals-ignore-case")) {
      return v.is_string() && enc::starts_with(enc::to_lower(v.get<std::string>()),
                                               enc::to_lower(arg["equals-ignore-case"].get<std::string>()));
    }
    return v.is_string() && arg.is_string() && enc::starts_with(v.get<std::string>(), arg.get<std::string>());
  }
  if (op == "suffix") {
    if (arg.is_object() && arg.contains("equals-ignore-case")) {
      return v.is_string() && enc::ends_with(enc::to_lower(v.get<std::string>()),
                                             enc::to_lower(arg["equals-ignore-case"].get<std::string>()));
    }
    return v.is_string() && arg.is_string() && enc::ends_with(v.get<std::string>(), arg.get<std::string>());
  }
  if (op == "equals-ignore-case") {
    return v.is_string() && arg.is_string() && enc::iequals(v.get<std::string>(), arg.get<std::string>());
  }
  if (op == "wildcard") return v.is_string() && arg.is_string() && glob(arg.get<std::string>(), v.get<std::string>());
  if (op == "numeric") return v.is_number() && numeric_holds(arg, v.get<double>());
  if (op == "cidr") return v.is_string() && arg.is_string() && in_cidr(arg.get<std::string>(), v.get<std::string>());
  if (op == "anything-but") {
    if (arg.is_array()) {
      for (const auto& a : arg) {
        if (value_matches(a, v)) return false;
      }
      return true;
    }
    return !value_matches(arg, v);
  }
  return false;
}

// A key's condition list against the key's values (absent: `values` null).
bool conditions_match(const json& conds, const json* node) {
  for (const auto& cond : conds) {
    if (cond.is_object() && cond.contains("exists")) {
      bool want = cond["exists"].get<bool>();
      bool present = node != nullptr && !node->is_null();
      if (want == present) return true;
      continue;
    }
    if (!node) continue;
    if (node->is_array()) {
      for (const auto& v : *node) {
        if (value_matches(cond, v)) return true;
      }
    } else if (value_matches(cond, *node)) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> validate_condition(const json& cond) {
  if (cond.is_string() || cond.is_number() || cond.is_null() || cond.is_boolean()) return std::nullopt;
  if (!cond.is_object() || cond.size() != 1) return "Match value must be String, number, true, false, or null";
  const auto first = cond.begin();
  const std::string& op = first.key();
  const json& arg = first.value();
  if (op == "exists") {
    if (!arg.is_boolean()) return "exists match pattern must be either true or false.";
  } else if (op == "prefix" || op == "suffix") {
    if (arg.is_object() && arg.size() == 1 && arg.contains("equals-ignore-case") && arg["equals-ignore-case"].is_string()) {
      return std::nullopt;
    }
    if (!arg.is_string()) return op + " match pattern must be a string";
  } else if (op == "equals-ignore-case" || op == "wildcard") {
    if (!arg.is_string()) return op + " match pattern must be a string";
  } else if (op == "cidr") {
    std::array<unsigned char, 16> net{};
    int bytes = 0, prefix = 0;
    if (!arg.is_string() || !parse_cidr(arg.get<std::string>(), &net, &bytes, &prefix)) {
      return "Malformed CIDR, one '/' required";
    }
  } else if (op == "numeric") {
    if (!arg.is_array() || (arg.size() != 2 && arg.size() != 4)) return "Value of numeric must be an array.";
    for (size_t i = 0; i + 1 < arg.size(); i += 2) {
      if (!arg[i].is_string() || !arg[i + 1].is_number()) return "Value of numeric must be an array.";
      std::string o = arg[i].get<std::string>();
      if (o != "=" && o != "<" && o != "<=" && o != ">" && o != ">=") return "Unrecognized numeric range operator: " + o;
      if (o == "=" && arg.size() != 2) return "Bad numeric range operator: =";
    }
    if (arg.size() == 4) {
      std::string lo = arg[0].get<std::string>(), hi = arg[2].get<std::string>();
      if ((lo != ">" && lo != ">=") || (hi != "<" && hi != "<=")) return "Bad numeric range operator";
      if (arg[1].get<double>() >= arg[3].get<double>()) return "Bottom must be less than top";
    }
  } else if (op == "anything-but") {
    if (arg.is_array()) {
      if (arg.empty()) return "Empty arrays are not allowed";
      for (const auto& a : arg) {
        if (!a.is_string() && !a.is_number()) return "Inside anything but list, start|null|boolean is not supported.";
      }
    } else if (arg.is_object()) {
      if (arg.size() != 1) return "Value of anything-but must be an array or single string/number value.";
      const auto first_inner = arg.begin();
      const std::string& inner = first_inner.key();
      const json& iv = first_inner.value();
      if ((inner != "prefix" && inner != "suffix" && inner != "equals-ignore-case") ||
          !(iv.is_string() || (inner == "equals-ignore-case" && iv.is_array()))) {
        return "Unsupported anything-but pattern: " + inner;
      }
    } else if (!arg.is_string() && !arg.is_number()) {
      return "Value of anything-but must be an array or single string/number value.";
    }
  } else {
    return "Unrecognized match type " + op;
  }
  return std::nullopt;
}

std::optional<std::string> validate_object(const json& policy, bool body_scope, int depth) {
  if (!policy.is_object() || policy.empty()) return "Filter policy must be a non-empty JSON object";
  if (depth > 5) return "Filter policy is too deeply nested";
  for (const auto& [key, value] : policy.items()) {
    if (key == "$or") {
      if (!value.is_array() || value.size() < 2) return "Value of $or must be an array of at least two filter policies";
      for (const auto& branch : value) {
        if (auto err = validate_object(branch, body_scope, depth + 1)) return err;
      }
    } else if (value.is_object()) {
      if (!body_scope) return "Filter policy scope MessageAttributes does not support nested filter policy";
      if (auto err = validate_object(value, body_scope, depth + 1)) return err;
    } else if (value.is_array()) {
      if (value.empty()) return "Empty arrays are not allowed";
      for (const auto& cond : value) {
        if (auto err = validate_condition(cond)) return err;
      }
    } else {
      return "Match value must be String, number, true, false, or null";
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate_filter_policy(const json& policy, bool body_scope) {
  return validate_object(policy, body_scope, 0);
}

json attributes_document(const json& message_attributes) {
  json doc = json::object();
  if (!message_attributes.is_object()) return doc;
  for (const auto& [name, attr] : message_attributes.items()) {
    if (!attr.is_object()) continue;
    std::string type = attr.value("DataType", "");
    if (!attr.contains("StringValue") || !attr["StringValue"].is_string()) continue;
    const std::string& s = attr["StringValue"].get_ref<const std::string&>();
    if (enc::starts_with(type, "Number")) {
      auto n = json::parse(s, nullptr, false);
      doc[name] = n.is_number() ? n : json(s);
    } else if (type == "String.Array") {
      auto a = json::parse(s, nullptr, false);
      doc[name] = a.is_array() ? a : json(s);
    } else if (enc::starts_with(type, "String")) {
      doc[name] = s;
    }
  }
  return doc;
}

bool matches(const json& policy, const json& document) {
  if (!policy.is_object()) return false;
  for (const auto& [key, cond] : policy.items()) {
    if (key == "$or") {
      bool any = false;
      for (const auto& branch : cond) {
        if (matches(branch, document)) {
          any = true;
          break;
        }
      }
      if (!any) return false;
      continue;
    }
    const json* node = nullptr;
    if (document.is_object()) {
      auto it = document.find(key);
      if (it != document.end()) node = &*it;
    }
    if (cond.is_object()) {
      static const json kEmpty = json::object();
      if (node && node->is_array()) {
        bool any = false;
        for (const auto& element : *node) {
          if (element.is_object() && matches(cond, element)) {
            any = true;
            break;
          }
        }
        if (!any) return false;
      } else if (!matches(cond, node && node->is_object() ? *node : kEmpty)) {
        return false;
      }
      continue;
    }
    if (!cond.is_array() || !conditions_match(cond, node)) return false;
  }
  return true;
}

}  // namespace sless::services::sns
