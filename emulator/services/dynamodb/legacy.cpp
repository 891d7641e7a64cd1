// The legacy parameters older SDKs still send (Expected, KeyConditions, QueryFilter,
// ScanFilter, AttributeUpdates), translated into the trees of the expression language so that
// one evaluator serves both.
#include <algorithm>

#include "services/dynamodb/common.h"

namespace sless::services::dynamodb {

namespace {


using expr::CompareOp;
using expr::CondKind;
using expr::Condition;
using expr::Operand;

struct OperatorSpec {
  const char* name;
  int min_values;
  int max_values;
  std::vector<Type> types;  // empty: any
};

const OperatorSpec* find_operator(const std::string& name) {
  static const std::vector<Type> kOrdered = {Type::kS, Type::kN, Type::kB};
  static const std::vector<Type> kEquality = {Type::kS, Type::kN, Type::kB, Type::kSS, Type::kNS, Type::kBS};
  static const OperatorSpec kOps[] = {
      {"EQ", 1, 1, kEquality},       {"NE", 1, 1, kEquality},       {"LE", 1, 1, kOrdered},
      {"LT", 1, 1, kOrdered},        {"GE", 1, 1, kOrdered},        {"GT", 1, 1, kOrdered},
      {"NULL", 0, 0, {}},            {"NOT_NULL", 0, 0, {}},        {"CONTAINS", 1, 1, kOrdered},
      {"NOT_CONTAINS", 1, 1, kOrdered}, {"BEGINS_WITH", 1, 1, {Type::kS, Type::kB}},
      {"IN", 1, 100, kOrdered},      {"BETWEEN", 2, 2, kOrdered},
  };
  for (const OperatorSpec& s : kOps) {
    if (name == s.name) {
      return &s;
    }
  }
  return nullptr;
}

Condition compare(CompareOp op, const std::string& attr, const Json& value) {
  Condition c;
  c.kind = CondKind::kCompare;
  c.op = op;
  c.operands.push_back(Operand::of_path({expr::PathElement{attr, -1}}));
  c.operands.push_back(Operand::of_owned(value));
  return c;
}

Condition function(CondKind kind, const std::string& attr, const Json* value) {
  Condition c;
  c.kind = kind;
  c.operands.push_back(Operand::of_path({expr::PathElement{attr, -1}}));
  if (value != nullptr) {
    c.operands.push_back(Operand::of_owned(*value));
  }
  return c;
}

Condition negate(Condition inner) {
  Condition c;
  c.kind = CondKind::kNot;
  c.children.push_back(std::move(inner));
  return c;
}

// One attribute's condition from a ComparisonOperator and its values.
Condition build(const std::string& op, const std::string& attr, const std::vector<Json>& values) {
  if (op == "EQ") return compare(CompareOp::kEq, attr, values[0]);
  if (op == "NE") return compare(CompareOp::kNe, attr, values[0]);
  if (op == "LE") return compare(CompareOp::kLe, attr, values[0]);
  if (op == "LT") return compare(CompareOp::kLt, attr, values[0]);
  if (op == "GE") return compare(CompareOp::kGe, attr, values[0]);
  if (op == "GT") return compare(CompareOp::kGt, attr, values[0]);
  if (op == "NULL") return function(CondKind::kNotExists, attr, nullptr);
  if (op == "NOT_NULL") return function(CondKind::kExists, attr, nullptr);
  if (op == "CONTAINS") return function(CondKind::kContains, attr, &values[0]);
  if (op == "NOT_CONTAINS") return negate(function(CondKind::kContains, attr, &values[0]));
  if (op == "BEGINS_WITH") return function(CondKind::kBeginsWith, attr, &values[0]);
  Condition c;
  c.kind = op == "IN" ? CondKind::kIn : CondKind::kBetween;
  c.operands.push_back(Operand::of_path({expr::PathElement{attr, -1}}));
  for (const Json& v : values) {
    c.operands.push_back(Operand::of_owned(v));
  }
  return c;
}

std::optional<ServiceError> normalized(const Json& in, std::vector<Json>& out) {
  for (const Json& v : in) {
    Json copy = v;
    if (auto e = normalize_value(copy)) {
      return validation_error(std::move(*e));
    }
    out.push_back(std::move(copy));
  }
  return std::nullopt;
}

std::optional<ServiceError> check_values(const std::string& op, const std::vector<Json>& values, bool check_types) {
  const OperatorSpec* spec = find_operator(op);
  if (spec == nullptr) {
    return validation_error(kInvalid + "Unknown ComparisonOperator: " + op);
  }
  const int n = static_cast<int>(values.size());
  if (n < spec->min_values || n > spec->max_values) {
    return validation_error(kInvalid + "Invalid number of argument(s) for the " + op +
                            " ComparisonOperator");
  }
  if (!values.empty()) {
    const Type first = type_of(values[0]);
    for (const Json& v : values) {
      if (type_of(v) != first) {
        return validation_error(kInvalid + "AttributeValues inside AttributeValueList must be of same type");
      }
    }
    if (check_types && !spec->types.empty()) {
      for (const Json& v : values) {
        if (std::find(spec->types.begin(), spec->types.end(), type_of(v)) == spec->types.end()) {
          return validation_error(kInvalid + "ComparisonOperator " + op + " is not valid for " +
                                  std::string(type_name(type_of(v))) + " AttributeValue type");
        }
      }
    }
    if (op == "BETWEEN") {
      if (auto c = compare_values(values[0], values[1]); c && *c > 0) {
        return validation_error("The BETWEEN condition was provided a range where the lower bound is greater than the "
                                "upper bound");
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ServiceError> legacy_condition(const Json& conditions, const std::string& op, bool expected_form,
                                             Condition& out, std::set<std::string>* heads) {
  if (!conditions.is_object()) {
    return validation_error("Conditions must be a map");
  }
  std::vector<Condition> parts;
  for (auto it = conditions.begin(); it != conditions.end(); ++it) {
    const std::string& attr = it.key();
    const Json& c = it.value();
    if (heads != nullptr) {
      heads->insert(attr);
    }
    const bool has_op = c.contains("ComparisonOperator");
    const bool has_list = c.contains("AttributeValueList");
    const bool has_value = c.contains("Value");
    std::vector<Json> values;
    if (has_list) {
      if (auto e = normalized(c["AttributeValueList"], values)) {
        return e;
      }
    }
    if (!expected_form) {
      const std::string cmp = c.value("ComparisonOperator", "");
      if (auto e = check_values(cmp, values, true)) {
        return e;
      }
      parts.push_back(build(cmp, attr, values));
      continue;
    }
    if (has_list && has_value) {
      return validation_error(kInvalid +
                              "Value and AttributeValueList cannot be used together for Attribute: " + attr);
    }
    if (has_value) {
      Json v = c["Value"];
      if (auto e = normalize_value(v)) {
        return validation_error(std::move(*e));
      }
      values.push_back(std::move(v));
    }
    if (has_op) {
      const std::string cmp = c["ComparisonOperator"].get<std::string>();
      if (c.contains("Exists")) {
        return validation_error(kInvalid +
                                "Exists and ComparisonOperator cannot be used together for Attribute: " + attr);
      }
      if (cmp != "NULL" && cmp != "NOT_NULL" && !has_list && !has_value) {
        return validation_error(kInvalid + "Value or AttributeValueList must be used with ComparisonOperator: " +
                                cmp + " for Attribute: " + attr);
      }
      if (auto e = check_values(cmp, values, false)) {
        return e;
      }
      parts.push_back(build(cmp, attr, values));
      continue;
    }
    if (has_list) {
      return validation_error(kInvalid +
                              "AttributeValueList can only be used with a ComparisonOperator for Attribute: " + attr);
    }
    const bool exists_given = c.contains("Exists");
    const bool exists = !exists_given || c["Exists"].get<bool>();
    if (exists && !has_value) {
      return validation_error(kInvalid + "Value must be provided when Exists is " +
                              (exists_given ? "true" : "null") + " for Attribute: " + attr);
    }
    if (!exists && has_value) {
      return validation_error(kInvalid + "Value cannot be used when Exists is false for Attribute: " + attr);
    }
    parts.push_back(exists ? compare(CompareOp::kEq, attr, values[0]) : function(CondKind::kNotExists, attr, nullptr));
  }
  if (parts.empty()) {
    out = Condition{};
    return std::nullopt;
  }
  Condition combined = std::move(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    Condition c;
    c.kind = op == "OR" ? CondKind::kOr : CondKind::kAnd;
    c.children.push_back(std::move(combined));
    c.children.push_back(std::move(parts[i]));
    combined = std::move(c);
  }
  out = std::move(combined);
  return std::nullopt;
}

std::optional<ServiceError> legacy_update(const Json& updates, expr::Update& out) {
  if (!updates.is_object()) {
    return validation_error("AttributeUpdates must be a map");
  }
  for (auto it = updates.begin(); it != updates.end(); ++it) {
    const std::string& attr = it.key();
    const Json& u = it.value();
    const std::string action = u.value("Action", "PUT");
    expr::UpdateAction a;
    a.path = {expr::PathElement{attr, -1}};
    if (!u.contains("Value")) {
      if (action != "DELETE") {
        return validation_error(kInvalid + "Only DELETE action is allowed when no attribute value is specified");
      }
      a.kind = expr::ActionKind::kRemove;
      out.actions.push_back(std::move(a));
      continue;
    }
    Json value = u["Value"];
    if (auto e = normalize_value(value)) {
      return validation_error(std::move(*e));
    }
    const Type t = type_of(value);
    const bool set = t == Type::kSS || t == Type::kNS || t == Type::kBS;
    if (action == "PUT") {
      a.kind = expr::ActionKind::kSet;
      a.value = Operand::of_owned(std::move(value));
    } else if (action == "DELETE") {
      if (!set) {
        return validation_error(kInvalid + "DELETE action with value is not supported for the type " +
                                std::string(type_name(t)));
      }
      a.kind = expr::ActionKind::kDelete;
      a.value = Operand::of_owned(std::move(value));
    } else if (t == Type::kN || set) {
      a.kind = expr::ActionKind::kAdd;
      a.value = Operand::of_owned(std::move(value));
    } else if (t == Type::kL) {
      // ADD on a list appends to it (or creates it).
      a.kind = expr::ActionKind::kSet;
      Operand existing;
      existing.kind = expr::OperandKind::kIfNotExists;
      existing.args.push_back(Operand::of_path(a.path));
      existing.args.push_back(Operand::of_owned(Json{{"L", Json::array()}}));
      Operand append;
      append.kind = expr::OperandKind::kListAppend;
      append.args.push_back(std::move(existing));
      append.args.push_back(Operand::of_owned(std::move(value)));
      a.value = std::move(append);
    } else {
      return validation_error(kInvalid + "ADD action is not supported for the type " +
                              std::string(type_name(t)));
    }
    out.actions.push_back(std::move(a));
  }
  return std::nullopt;
}

}  // namespace sless::services::dynamodb
