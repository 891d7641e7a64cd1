#include "services/dynamodb/value.h"

#include <algorithm>
#include <unordered_set>

#include "core/encoding.h"
#include "protocol/codec.h"
#include "storage/decimal.h"
#include "storage/keys.h"

namespace sless::services::dynamodb {

using storage::key::Decimal;

namespace {

constexpr std::string_view kNames[] = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"};

std::string bracketed(const Json& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += list[i].is_string() ? list[i].get_ref<const std::string&>() : dump(list[i]);
  }
  return out + "]";
}

std::optional<std::string> invalid(std::string message) { return message; }

// Validates a set's members (strings of the set's element type) and canonicalizes them.
std::optional<std::string> normalize_set(Type t, Json& members, size_t* size) {
  if (!members.is_array()) {
    return invalid("Supplied AttributeValue has an invalid set value");
  }
  if (members.empty()) {
    switch (t) {
      case Type::kSS: return invalid("One or more parameter values were invalid: An string set  may not be empty");
      case Type::kNS: return invalid("One or more parameter values were invalid: An number set  may not be empty");
      default: return invalid("One or more parameter values were invalid: Binary sets should not be empty");
    }
  }
  std::unordered_set<std::string> seen;
  seen.reserve(members.size());
  size_t total = 0;
  for (Json& m : members) {
    if (!m.is_string()) {
      return invalid("Supplied AttributeValue has an invalid set value");
    }
    std::string& text = m.get_ref<std::string&>();
    if (t == Type::kNS) {
      std::string error;
      auto d = Decimal::parse(text, &error);
      if (!d) {
        return error;
      }
      text = d->to_string();
      total += number_size(text);
    } else if (t == Type::kBS) {
      auto bytes = enc::base64_decode(text);
      if (!bytes) {
        return invalid("Invalid Base64 value in a binary set");
      }
      total += bytes->size();
      text = enc::base64_encode(*bytes);
    } else {
      total += text.size();
    }
    if (!seen.insert(text).second) {
      switch (t) {
        case Type::kSS:
          return invalid("One or more parameter values were invalid: Input collection " + bracketed(members) +
                         " contains duplicates.");
        case Type::kNS: return invalid("Input collection contains duplicates");
        default:
          return invalid("One or more parameter values were invalid: Input collection " + bracketed(members) +
                         "of type BS contains duplicates.");
      }
    }
  }
  if (size != nullptr) {
    *size += total;
  }
  return std::nullopt;
}

}  // namespace

Type type_of(const Json& av) {
  if (!av.is_object() || av.size() != 1) {
    return Type::kInvalid;
  }
  return type_from_name(av.begin().key());
}

std::string_view type_name(Type t) {
  auto i = static_cast<size_t>(t);
  return i < std::size(kNames) ? kNames[i] : std::string_view("?");
}

Type type_from_name(std::string_view name) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) {
      return static_cast<Type>(i);
    }
  }
  return Type::kInvalid;
}

size_t number_size(std::string_view canonical) {
  // Digits are stored in pairs aligned on the decimal point, plus an exponent byte and, for
  // negatives, a terminator.
  auto d = Decimal::parse(canonical, nullptr);
  if (!d || d->is_zero()) {
    return 1;
  }
  const size_t n = d->digits().size();
  const bool extra_pair = n % 2 == 0 && d->exponent() % 2 == 0;
  return 1 + (n + 1) / 2 + (extra_pair ? 1 : 0) + (d->sign() < 0 ? 1 : 0);
}

std::optional<std::string> normalize_value(Json& av, size_t* size, int depth) {
  if (!av.is_object() || av.empty()) {
    return invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  }
  if (av.size() > 1) {
    return invalid(
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");
  }
  const Type t = type_from_name(av.begin().key());
  Json& p = payload(av);
  switch (t) {
    case Type::kS:
      if (!p.is_string()) {
        break;
      }
      if (size != nullptr) {
        *size += p.get_ref<const std::string&>().size();
      }
      return std::nullopt;
    case Type::kN: {
      if (!p.is_string()) {
        break;
      }
      std::string error;
      auto d = Decimal::parse(p.get_ref<const std::string&>(), &error);
      if (!d) {
        return error;
      }
      std::string canonical = d->to_string();
      if (size != nullptr) {
        *size += number_size(canonical);
      }
      if (canonical != p.get_ref<const std::string&>()) {
        p = std::move(canonical);
      }
      return std::nullopt;
    }
    case Type::kB: {
      if (!p.is_string()) {
        break;
      }
      auto bytes = enc::base64_decode(p.get_ref<const std::string&>());
      if (!bytes) {
        return invalid("Invalid Base64 value");
      }
      if (size != nullptr) {
        *size += bytes->size();
      }
      std::string canonical = enc::base64_encode(*bytes);
      if (canonical != p.get_ref<const std::string&>()) {
        p = std::move(canonical);
      }
      return std::nullopt;
    }
    case Type::kSS:
    case Type::kNS:
    case Type::kBS: return normalize_set(t, p, size);
    case Type::kBool:
      if (!p.is_boolean()) {
        break;
      }
      if (size != nullptr) {
        *size += 1;
      }
      return std::nullopt;
    case Type::kNull:
      if (!p.is_boolean()) {
        break;
      }
      if (!p.get<bool>()) {
        return invalid("One or more parameter values were invalid: Null attribute value types must have the value of true");
      }
      if (size != nullptr) {
        *size += 1;
      }
      return std::nullopt;
    case Type::kM:
    case Type::kL: {
      if (t == Type::kM ? !p.is_object() : !p.is_array()) {
        break;
      }
      if (depth + 1 > kMaxDepth) {
        return invalid("Nesting Levels have exceeded supported limits");
      }
      size_t inner = 3;
      if (t == Type::kM) {
        for (auto it = p.begin(); it != p.end(); ++it) {
          inner += it.key().size() + 1;
          if (auto e = normalize_value(it.value(), &inner, depth + 1)) {
            return e;
          }
        }
      } else {
        for (Json& v : p) {
          inner += 1;
          if (auto e = normalize_value(v, &inner, depth + 1)) {
            return e;
          }
        }
      }
      if (size != nullptr) {
        *size += inner;
      }
      return std::nullopt;
    }
    case Type::kInvalid:
      return invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  }
  return invalid("Supplied AttributeValue has an invalid value for type " + std::string(type_name(t)));
}

std::optional<std::string> normalize_item(Json& item, size_t* size) {
  if (!item.is_object()) {
    return invalid("Item must be a map of attribute values");
  }
  size_t total = 0;
  for (auto it = item.begin(); it != item.end(); ++it) {
    total += it.key().size();
    if (auto e = normalize_value(it.value(), &total, 0)) {
      return e;
    }
  }
  if (size != nullptr) {
    *size = total;
  }
  return std::nullopt;
}

size_t value_size(const Json& av) {
  const Type t = type_of(av);
  if (t == Type::kInvalid) {
    return 0;
  }
  const Json& p = payload(av);
  switch (t) {
    case Type::kS: return p.is_string() ? p.get_ref<const std::string&>().size() : 0;
    case Type::kN: return p.is_string() ? number_size(p.get_ref<const std::string&>()) : 0;
    case Type::kB: return p.is_string() ? decode_binary(p).size() : 0;
    case Type::kBool:
    case Type::kNull: return 1;
    case Type::kSS:
    case Type::kNS:
    case Type::kBS: {
      size_t total = 0;
      for (const Json& m : p) {
        if (!m.is_string()) {
          continue;
        }
        const auto& s = m.get_ref<const std::string&>();
        total += t == Type::kSS ? s.size() : t == Type::kNS ? number_size(s) : decode_binary(m).size();
      }
      return total;
    }
    case Type::kM: {
      size_t total = 3;
      for (auto it = p.begin(); it != p.end(); ++it) {
        total += it.key().size() + 1 + value_size(it.value());
      }
      return total;
    }
    case Type::kL: {
      size_t total = 3;
      for (const Json& v : p) {
        total += 1 + value_size(v);
      }
      return total;
    }
    case Type::kInvalid: return 0;
  }
  return 0;
}

size_t item_size(const Json& item) {
  size_t total = 0;
  for (auto it = item.begin(); it != item.end(); ++it) {
    total += it.key().size() + value_size(it.value());
  }
  return total;
}

bool values_equal(const Json& a, const Json& b) {
  const Type ta = type_of(a);
  if (ta == Type::kInvalid || ta != type_of(b)) {
    return false;
  }
  const Json& pa = payload(a);
  const Json& pb = payload(b);
  switch (ta) {
    case Type::kSS:
    case Type::kNS:
    case Type::kBS: {
      if (!pa.is_array() || !pb.is_array() || pa.size() != pb.size()) {
        return false;
      }
      for (const Json& m : pa) {
        if (std::find(pb.begin(), pb.end(), m) == pb.end()) {
          return false;
        }
      }
      return true;
    }
    case Type::kM: {
      if (!pa.is_object() || !pb.is_object() || pa.size() != pb.size()) {
        return false;
      }
      for (auto it = pa.begin(); it != pa.end(); ++it) {
        auto other = pb.find(it.key());
        if (other == pb.end() || !values_equal(it.value(), *other)) {
          return false;
        }
      }
      return true;
    }
    case Type::kL: {
      if (!pa.is_array() || !pb.is_array() || pa.size() != pb.size()) {
        return false;
      }
      for (size_t i = 0; i < pa.size(); ++i) {
        if (!values_equal(pa[i], pb[i])) {
          return false;
        }
      }
      return true;
    }
    default: return pa == pb;
  }
}

std::optional<int> compare_values(const Json& a, const Json& b) {
  const Type t = type_of(a);
  if (!is_scalar_key_type(t) || t != type_of(b)) {
    return std::nullopt;
  }
  const Json& pa = payload(a);
  const Json& pb = payload(b);
  if (!pa.is_string() || !pb.is_string()) {
    return std::nullopt;
  }
  const auto& sa = pa.get_ref<const std::string&>();
  const auto& sb = pb.get_ref<const std::string&>();
  if (t == Type::kS) {
    int c = sa.compare(sb);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (t == Type::kN) {
    auto da = Decimal::parse(sa, nullptr);
    auto db = Decimal::parse(sb, nullptr);
    if (!da || !db) {
      return std::nullopt;
    }
    auto c = *da <=> *db;
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  const std::string ba = decode_binary(pa);
  const std::string bb = decode_binary(pb);
  int c = ba.compare(bb);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

bool append_key(std::string& out, Type t, const Json& p) {
  if (!p.is_string()) {
    return false;
  }
  const auto& text = p.get_ref<const std::string&>();
  switch (t) {
    case Type::kS: storage::key::append_string(out, text); return true;
    case Type::kN: {
      auto d = Decimal::parse(text, nullptr);
      if (!d) {
        return false;
      }
      storage::key::append_decimal(out, *d);
      return true;
    }
    case Type::kB: {
      auto bytes = enc::base64_decode(text);
      if (!bytes) {
        return false;
      }
      storage::key::append_bytes(out, *bytes);
      return true;
    }
    default: return false;
  }
}

std::string decode_binary(const Json& p) {
  if (!p.is_string()) {
    return {};
  }
  auto bytes = enc::base64_decode(p.get_ref<const std::string&>());
  return bytes ? std::move(*bytes) : std::string();
}

void dump_to(std::string& out, const Json& j) { protocol::append_json(out, j); }

std::string dump(const Json& j) { return protocol::dump(j); }

}  // namespace sless::services::dynamodb
