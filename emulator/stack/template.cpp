#include "stack/template.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "core/encoding.h"

namespace sless::stack {

using nlohmann::json;

namespace {

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// YAML 1.2 core-schema numbers: [-+]?[0-9]+ and [-+]?(digits.digits?|.digits)(e[-+]?digits)?
// or [-+]?digits e[-+]?digits. Scanned by hand: std::regex recursed once per character and a
// long scalar overflowed the stack (found by fuzz_stack).
bool is_int_text(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_float_text(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  size_t i = 0;
  auto digits = [&] {
    size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  size_t whole = digits();
  bool dot = i < s.size() && s[i] == '.';
  size_t fraction = 0;
  if (dot) {
    ++i;
    fraction = digits();
  }
  if (whole == 0 && fraction == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  } else if (!dot) {
    return false;  // plain digits are an integer, not a float
  }
  return i == s.size();
}

// A plain (unquoted) scalar as YAML 1.2's core schema reads it.
json plain_scalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (is_int_text(s) && s.size() < 19) {
    // Leading zeros (zip codes, ids) stay strings, as CloudFormation keeps them.
    std::string digits = (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
    if (digits.size() > 1 && digits[0] == '0') return s;
    return std::strtoll(s.c_str(), nullptr, 10);
  }
  if (is_float_text(s)) return std::strtod(s.c_str(), nullptr);
  return s;
}

struct Converter {
  std::map<std::string, int>* lines;

  json convert(const YAML::Node& node, const std::string& pointer) {
    json value = convert_untagged(node, pointer);
    const std::string& tag = node.Tag();
    if (tag.size() < 2 || tag[0] != '!' || tag == "!") return value;
    std::string name = tag.substr(1);
    if (name == "Ref") return json{{"Ref", value}};
    if (name == "Condition") return json{{"Condition", value}};
    if (name == "GetAtt" && value.is_string()) {
      std::string s = value.get<std::string>();
      auto dot = s.find('.');
      if (dot == std::string::npos) return json{{"Fn::GetAtt", json::array({s})}};
      return json{{"Fn::GetAtt", json::array({s.substr(0, dot), s.substr(dot + 1)})}};
    }
    return json{{"Fn::" + name, value}};
  }

  json convert_untagged(const YAML::Node& node, const std::string& pointer) {
    switch (node.Type()) {
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        // Quoted scalars (and short-form tagged ones) stay strings.
        if (node.Tag() == "?") return plain_scalar(node.Scalar());
        return node.Scalar();
      case YAML::NodeType::Sequence: {
        json arr = json::array();
        size_t i = 0;
        for (const auto& child : node) {
          arr.push_back(convert(child, pointer + "/" + std::to_string(i)));
          ++i;
        }
        return arr;
      }
      case YAML::NodeType::Map: {
        json obj = json::object();
        for (const auto& kv : node) {
          std::string key = kv.first.as<std::string>();
          std::string child = pointer + "/" + escape_pointer(key);
          (*lines)[child] = kv.first.Mark().line + 1;
          obj[key] = convert(kv.second, child);
        }
        return obj;
      }
      default:
        return nullptr;
    }
  }
};

}  // namespace

int TemplateDoc::line_of(std::string pointer) const {
  for (;;) {
    auto it = lines.find(pointer);
    if (it != lines.end()) return it->second;
    auto slash = pointer.rfind('/');
    if (slash == std::string::npos || pointer.empty()) return 0;
    pointer.resize(slash);
  }
}

Result<TemplateDoc> parse_template(const std::string& text) {
  // Templates are UTF-8 text; other bytes would reach the JSON tree and make its writer throw
  // when a value is rendered (found by fuzz_stack).
  if (!enc::is_valid_utf8(text)) {
    int line = 1;
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos && enc::is_valid_utf8(text.substr(start, nl - start));
         start = nl + 1) {
      ++line;
    }
    return Status::invalid_argument("line " + std::to_string(line) + ": the template is not valid UTF-8");
  }
  TemplateDoc doc;
  try {
    YAML::Node node = YAML::Load(text);
    Converter conv{&doc.lines};
    doc.root = conv.convert(node, "");
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!doc.root.is_object()) return Status::invalid_argument("the template is not a mapping");
  return doc;
}

}  // namespace sless::stack
