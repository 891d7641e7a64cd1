// Model validation of a params tree, with AWS's messages.
//
// JSON-protocol services answer constraint failures the way AWS's front end does:
//   ValidationException: 2 validation errors detected: Value null at 'tableName' failed to
//   satisfy constraint: Member must not be null; Value '0' at 'limit' failed to ...
// and type mismatches with SerializationException. SQS answers MissingParameter /
// InvalidParameterValue, SNS ValidationError; see style_for().
#include <cmath>

#include "core/encoding.h"
#include "core/time_format.h"
#include "protocol/codec.h"

namespace sless::protocol {
namespace {

using nlohmann::json;

struct Style {
  const char* missing_code = "ValidationException";
  const char* invalid_code = "ValidationException";
  const char* type_code = "SerializationException";
  bool coral_messages = true;  // "N validation errors detected: ..."
};

Style style_for(const ServiceModel& m) {
  Style s;
  if (m.name == "sqs" || m.name == "sqs-query") {
    s.missing_code = "MissingParameter";
    s.invalid_code = "InvalidParameterValue";
    s.type_code = "InvalidParameterValue";
    s.coral_messages = false;
  } else if (m.protocol == Protocol::kQuery) {
    s.missing_code = s.invalid_code = "ValidationError";
    s.type_code = "InvalidParameterValue";
  } else if (m.protocol == Protocol::kRestXml) {
    s.missing_code = "InvalidRequest";
    s.invalid_code = "InvalidArgument";
    s.type_code = "InvalidArgument";
    s.coral_messages = false;
  } else if (m.protocol == Protocol::kRestJson) {
    s.type_code = "SerializationException";
  }
  return s;
}

std::string lower_first(std::string_view name) {
  std::string out(name);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] + 32);
  return out;
}

std::string shown_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "START_OBJECT";
    case json::value_t::array: return "START_ARRAY";
    case json::value_t::string: return "VALUE_STRING";
    case json::value_t::boolean: return "VALUE_BOOLEAN";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "VALUE_NUMBER_INT";
    case json::value_t::number_float: return "VALUE_NUMBER_FLOAT";
    case json::value_t::null: return "VALUE_NULL";
    default: return "VALUE";
  }
}

// Where a value sits in the request ("key.pk.member.s"), as a chain of frames on the stack. The
// text is built only when a check fails: most requests fail none, and their paths would otherwise
// cost an allocation per member.
struct Path {
  enum class Kind { kRoot, kMember, kIndex, kMapKey, kMapValue };
  const Path* parent = nullptr;
  Kind kind = Kind::kRoot;
  std::string_view name;  // kMember: the member's name; kMapValue: the map key
  size_t index = 0;       // kIndex: 1-based list position

  Path member(std::string_view n) const { return Path{this, Kind::kMember, n, 0}; }
  Path item(size_t i) const { return Path{this, Kind::kIndex, {}, i}; }
  Path map_key() const { return Path{this, Kind::kMapKey, {}, 0}; }
  Path map_value(std::string_view key) const { return Path{this, Kind::kMapValue, key, 0}; }
  bool is_root() const { return kind == Kind::kRoot; }

  std::string str() const {
    if (kind == Kind::kRoot) return {};
    std::string base = parent->str();
    switch (kind) {
      case Kind::kMember: return base.empty() ? lower_first(name) : base + "." + lower_first(name);
      case Kind::kIndex: return base + "." + std::to_string(index) + ".member";
      case Kind::kMapKey: return base + ".key";
      case Kind::kMapValue: return base + "." + std::string(name) + ".member";
      case Kind::kRoot: break;
    }
    return base;
  }
};

class Validator {
 public:
  Validator(const ServiceModel& m, Style s) : model_(m), style_(std::move(s)) {}

  std::optional<ServiceError> run(const Shape& shape, json& params, std::string_view skip) {
    skip_ = skip;
    check_structure(shape, params, Path{});
    if (fast_ && (slow_needed_ || type_error_ || !messages_.empty())) {
      // A failure, found in the order of the request's members: start again in the model's
      // order, which is the order AWS lists its messages in. The first pass changed nothing
      // that the second would not (nulls dropped, timestamps and integral floats converted).
      messages_.clear();
      plain_.clear();
      missing_.clear();
      all_missing_ = true;
      type_error_.reset();
      fast_ = false;
      check_structure(shape, params, Path{});
    }
    if (type_error_) return type_error_;
    if (!missing_.empty() && !style_.coral_messages) {
      return ServiceError(style_.missing_code,
                          "The request must contain the parameter " + missing_.front() + ".");
    }
    if (messages_.empty()) return std::nullopt;
    if (!style_.coral_messages) {
      return ServiceError(style_.invalid_code, plain_.front());
    }
    std::string msg = std::to_string(messages_.size()) +
                      (messages_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
    for (size_t i = 0; i < messages_.size(); ++i) {
      if (i) msg += "; ";
      msg += messages_[i];
    }
    std::string code = all_missing_ ? style_.missing_code : style_.invalid_code;
    return ServiceError(code, msg);
  }

 private:
  void fail(const std::string& path, const std::string& shown, const std::string& constraint,
            const std::string& plain) {
    messages_.push_back("Value " + shown + " at '" + path + "' failed to satisfy constraint: " + constraint);
    plain_.push_back(plain);
  }

  void type_fail(const Path& at, const json& v, const char* expected) {
    if (type_error_) return;
    std::string path = at.str();
    if (style_.coral_messages && std::string_view(style_.type_code) == "SerializationException") {
      type_error_ = ServiceError(style_.type_code, json_kind(v) + " can not be converted to " + expected);
    } else {
      type_error_ = ServiceError(style_.type_code,
                                 "Value (" + shown_value(v) + ") for parameter " + path + " is invalid.");
    }
  }

  // `text` is the value's text when it is a string (a map key has no json of its own), else
  // null and `v` is shown.
  void check_length(const Shape& s, size_t len, const Path& at, const json* v, const std::string* text) {
    auto shown = [&] { return text ? *text : shown_value(*v); };
    if (s.min && static_cast<double>(len) < *s.min) {
      all_missing_ = false;
      std::string path = at.str();
      fail(path, "'" + shown() + "'",
           "Member must have length greater than or equal to " + std::to_string(static_cast<long long>(*s.min)),
           "Value for parameter " + path + " is invalid. Reason: must have length greater than or equal to " +
               std::to_string(static_cast<long long>(*s.min)) + ".");
    }
    if (s.max && static_cast<double>(len) > *s.max) {
      all_missing_ = false;
      std::string path = at.str();
      fail(path, "'" + shown() + "'",
           "Member must have length less than or equal to " + std::to_string(static_cast<long long>(*s.max)),
           "Value for parameter " + path + " is invalid. Reason: must have length less than or equal to " +
               std::to_string(static_cast<long long>(*s.max)) + ".");
    }
  }

  void check_structure(const Shape& s, json& v, const Path& at) {
    if (!v.is_object()) {
      type_fail(at, v, "Structure");
      return;
    }
    if (fast_ && v.size() * s.members.size() <= kFastPairs) {
      check_present_members(s, v, at);
      return;
    }
    for (const auto& m : s.members) {
      auto it = v.find(m.name);
      if (it == v.end() || it->is_null()) {
        if (it != v.end()) v.erase(it);
        if (m.required && !(at.is_root() && !skip_.empty() && m.name == skip_)) {
          std::string child = at.member(m.name).str();
          missing_.push_back(at.is_root() ? m.name : child);
          fail(child, "null", "Member must not be null",
               "The request must contain the parameter " + m.name + ".");
        }
        continue;
      }
      check(*m.shape, *it, at.member(m.name), &m);
    }
    // Unknown members are dropped silently by AWS's JSON front ends; keep them (harmless).
  }

  // The fast pass: visits the members the request holds (an AttributeValue holds one of its ten)
  // rather than looking up every member of the shape. Any required member missing sends the
  // whole validation to the ordered pass, which words the messages.
  void check_present_members(const Shape& s, json& v, const Path& at) {
    const bool root = at.is_root() && !skip_.empty();
    size_t required = 0;
    for (const Member& m : s.members) {
      required += m.required && !(root && m.name == skip_);
    }
    size_t required_seen = 0;
    for (auto it = v.begin(); it != v.end();) {
      const std::string& key = it.key();
      const Member* m = nullptr;
      for (const Member& candidate : s.members) {
        if (candidate.name == key) {  // std::string's == compares the lengths first
          m = &candidate;
          break;
        }
      }
      if (!m) {
        ++it;  // unknown members are kept, as in the ordered pass
        continue;
      }
      if (it->is_null()) {
        it = v.erase(it);
        continue;
      }
      required_seen += m->required && !(root && m->name == skip_);
      check(*m->shape, *it, at.member(m->name), m);
      ++it;
    }
    if (required_seen != required) slow_needed_ = true;
  }

  void check(const Shape& s, json& v, const Path& at, const Member* ref) {
    switch (s.type) {
      case ShapeType::kStructure:
        if (s.document) return;
        check_structure(s, v, at);
        if (s.is_union && v.is_object() && v.size() > 1 && !type_error_) {
          all_missing_ = false;
          std::string path = at.str();
          fail(path, "'" + shown_value(v) + "'", "Member must have exactly one value set",
               "Only one member of " + path + " may be set.");
        }
        return;
      case ShapeType::kList: {
        if (!v.is_array()) return type_fail(at, v, "List");
        check_length(s, v.size(), at, &v, nullptr);
        size_t i = 1;
        for (auto& item : v) {
          if (item.is_null()) {
            ++i;
            continue;
          }
          check(*s.member().shape, item, at.item(i++), &s.member());
        }
        return;
      }
      case ShapeType::kMap: {
        if (!v.is_object()) return type_fail(at, v, "Map");
        check_length(s, v.size(), at, &v, nullptr);
        for (auto& [k, item] : v.items()) {
          const Path key_at = at.map_key();
          if (s.key().shape->type == ShapeType::kString) {
            check_string(*s.key().shape, k, key_at);  // JSON keys are strings: no copy into a json
          } else {
            json key = k;
            check(*s.key().shape, key, key_at, &s.key());
          }
          if (!item.is_null()) check(*s.value().shape, item, at.map_value(k), &s.value());
        }
        return;
      }
      case ShapeType::kString:
        if (!v.is_string()) return type_fail(at, v, "String");
        check_string(s, v.get_ref<const std::string&>(), at);
        return;
      case ShapeType::kInteger:
      case ShapeType::kLong:
      case ShapeType::kBigInteger:
        if (!v.is_number_integer()) {
          // Integral floats ("5.0") are accepted as integers by AWS's parsers; beyond 64 bits
          // (1e300) they are not integers (and converting them would be undefined).
          double d = v.is_number_float() ? v.get<double>() : 0.5;
          if (std::floor(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            v = static_cast<long long>(d);
          } else {
            return type_fail(at, v, "Integer");
          }
        }
        check_range(s, v.get<double>(), at, v);
        return;
      case ShapeType::kFloat:
      case ShapeType::kDouble:
      case ShapeType::kBigDecimal:
        if (!v.is_number()) return type_fail(at, v, "Double");
        check_range(s, v.get<double>(), at, v);
        return;
      case ShapeType::kBoolean:
        if (!v.is_boolean()) return type_fail(at, v, "Boolean");
        return;
      case ShapeType::kBlob:
        if (!v.is_string()) return type_fail(at, v, "Blob");
        if (!enc::is_base64(v.get_ref<const std::string&>())) {
          if (!type_error_) {
            type_error_ = ServiceError(style_.type_code, "Base64 encoded binary data expected for " + at.str());
          }
        }
        return;
      case ShapeType::kTimestamp:
        if (v.is_number()) {
          // Epoch seconds, within the years timefmt reads and writes.
          double ms = v.get<double>() * 1000.0;
          if (ms >= static_cast<double>(timefmt::kMinMs) && ms < static_cast<double>(timefmt::kEndMs)) return;
          return type_fail(at, v, "Timestamp");
        }
        if (v.is_string()) {
          if (auto ms = timefmt::parse(v.get<std::string>())) {
            v = static_cast<double>(*ms) / 1000.0;
            return;
          }
        }
        return type_fail(at, v, "Timestamp");
    }
  }

  void check_string(const Shape& s, const std::string& text, const Path& at) {
    if (s.min || s.max) check_length(s, utf8_length(text), at, nullptr, &text);
    if (!s.enum_values.empty() && enum_checked() &&
        std::find(s.enum_values.begin(), s.enum_values.end(), text) == s.enum_values.end()) {
      all_missing_ = false;
      std::string set = "[";
      for (size_t i = 0; i < s.enum_values.size(); ++i) {
        if (i) set += ", ";
        set += s.enum_values[i];
      }
      set += "]";
      std::string path = at.str();
      fail(path, "'" + text + "'", "Member must satisfy enum value set: " + set,
           "Value (" + text + ") for parameter " + path + " is invalid.");
    }
  }

  void check_range(const Shape& s, double d, const Path& at, const json& v) {
    auto show = [](double x) {
      if (std::floor(x) == x && std::fabs(x) < 1e18) return std::to_string(static_cast<long long>(x));
      return json(x).dump();
    };
    if (s.min && d < *s.min) {
      all_missing_ = false;
      std::string path = at.str();
      fail(path, "'" + shown_value(v) + "'", "Member must have value greater than or equal to " + show(*s.min),
           "Value (" + shown_value(v) + ") for parameter " + path + " is invalid. Reason: must be greater than or equal to " + show(*s.min) + ".");
    }
    if (s.max && d > *s.max) {
      all_missing_ = false;
      std::string path = at.str();
      fail(path, "'" + shown_value(v) + "'", "Member must have value less than or equal to " + show(*s.max),
           "Value (" + shown_value(v) + ") for parameter " + path + " is invalid. Reason: must be less than or equal to " + show(*s.max) + ".");
    }
  }

  // AWS validates enums server-side for most JSON services, but S3 and the query services accept
  // values newer than their models.
  bool enum_checked() const { return style_.coral_messages && model_.protocol != Protocol::kQuery; }

  static size_t utf8_length(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xc0) != 0x80;
    return n;
  }

  // Beyond this many (request member, shape member) pairs, looking up the shape's members in the
  // request's object is cheaper than scanning the shape for each of the request's members.
  static constexpr size_t kFastPairs = 256;

  const ServiceModel& model_;
  Style style_;
  std::string_view skip_;
  bool fast_ = true;
  bool slow_needed_ = false;
  std::vector<std::string> messages_;
  std::vector<std::string> plain_;
  std::vector<std::string> missing_;
  bool all_missing_ = true;
  std::optional<ServiceError> type_error_;
};

}  // namespace

std::optional<ServiceError> validate(const ServiceModel& model, const Shape& shape, json& params,
                                     std::string_view raw_payload_member) {
  return Validator(model, style_for(model)).run(shape, params, raw_payload_member);
}

}  // namespace sless::protocol
