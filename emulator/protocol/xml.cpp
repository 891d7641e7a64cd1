#include "protocol/xml.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <pugixml.hpp>

#include "core/encoding.h"
#include "core/time_format.h"
#include "protocol/internal.h"

namespace sless::protocol {
namespace detail {

using nlohmann::json;

TimestampFormat timestamp_format(const Shape& shape, const Member* ref, TimestampFormat fallback) {
  const std::string& f = ref && !ref->timestamp_format().empty() ? ref->timestamp_format() : shape.timestamp_format;
  if (f == "iso8601") return TimestampFormat::kIso8601;
  if (f == "rfc822") return TimestampFormat::kRfc822;
  if (f == "unixTimestamp") return TimestampFormat::kEpochSeconds;
  return fallback;
}

std::string format_timestamp(double secs, TimestampFormat f) {
  // A value beyond the years 0000-9999 (a provider's arithmetic) is written as the nearest
  // instant the formats hold; llround of a larger one would be unspecified.
  double clamped = std::isnan(secs) ? 0.0
                                    : std::clamp(secs * 1000.0, static_cast<double>(timefmt::kMinMs),
                                                 static_cast<double>(timefmt::kEndMs - 1));
  auto ms = static_cast<int64_t>(std::llround(clamped));
  switch (f) {
    case TimestampFormat::kIso8601: return timefmt::iso8601_ms(ms);
    case TimestampFormat::kRfc822: return timefmt::rfc822(ms);
    case TimestampFormat::kEpochSeconds: {
      if (ms % 1000 == 0) return std::to_string(ms / 1000);
      return dump(json(static_cast<double>(ms) / 1000.0));
    }
  }
  return {};
}

std::optional<json> scalar_from_text(const Shape& s, std::string_view text) {
  switch (s.type) {
    case ShapeType::kString:
    case ShapeType::kBlob:
      return json(std::string(text));
    case ShapeType::kBoolean:
      if (text == "true") return json(true);
      if (text == "false") return json(false);
      return std::nullopt;
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kBigInteger: {
      if (text.empty() || text.size() > 20) return std::nullopt;
      char* end = nullptr;
      std::string buf(text);
      long long v = std::strtoll(buf.c_str(), &end, 10);
      if (end != buf.c_str() + buf.size()) return std::nullopt;
      return json(v);
    }
    case ShapeType::kFloat:
    case ShapeType::kDouble:
    case ShapeType::kBigDecimal: {
      if (text.empty() || text.size() > 64) return std::nullopt;
      char* end = nullptr;
      std::string buf(text);
      double v = std::strtod(buf.c_str(), &end);
      if (end != buf.c_str() + buf.size() || !std::isfinite(v)) return std::nullopt;
      return json(v);
    }
    case ShapeType::kTimestamp: {
      auto ms = timefmt::parse(text);
      if (!ms) return std::nullopt;
      return json(static_cast<double>(*ms) / 1000.0);
    }
    default:
      return std::nullopt;
  }
}

namespace {

// nlohmann's serializer decodes every string byte by byte (UTF-8 checks, escapes); answers full
// of base64 and digits (Kinesis GetRecords, DynamoDB items) spend most of their time there. This
// writer copies strings that need no escaping as they are and leaves everything else (escapes,
// non-ASCII, invalid UTF-8, floats) to nlohmann, so the output is byte for byte the same.
bool plain(std::string_view s) {
  // Eight bytes at a time: a word passes when none of its bytes is below 0x20, 0x7f or above
  // (high bit set, or high bit set once 1 is added), a quote or a backslash (a zero byte once
  // XORed with one). The rest byte by byte.
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  auto has_zero = [](uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (((w | (w - 0x20 * kOnes) | (w + kOnes)) & kHigh) != 0 || has_zero(w ^ ('"' * kOnes)) ||
        has_zero(w ^ ('\\' * kOnes))) {
      return false;
    }
  }
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

void append_string(std::string& out, std::string_view s) {
  if (plain(s)) {
    out.push_back('"');
    out.append(s);
    out.push_back('"');
  } else {
    out.append(json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

template <class Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

}  // namespace detail

using nlohmann::json;

void append_json(std::string& out, const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      // The containers themselves: nlohmann's iterators switch on the value's type at every step.
      const auto& members = j.get_ref<const json::object_t&>();
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : members) {
        if (!first) out.push_back(',');
        first = false;
        detail::append_string(out, key);
        out.push_back(':');
        append_json(out, value);
      }
      out.push_back('}');
      return;
    }
    case json::value_t::array: {
      const auto& items = j.get_ref<const json::array_t&>();
      out.push_back('[');
      bool first = true;
      for (const auto& item : items) {
        if (!first) out.push_back(',');
        first = false;
        append_json(out, item);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::string: return detail::append_string(out, j.get_ref<const std::string&>());
    case json::value_t::boolean: out.append(j.get<bool>() ? "true" : "false"); return;
    case json::value_t::null: out.append("null"); return;
    case json::value_t::number_integer: return detail::append_int(out, j.get<int64_t>());
    case json::value_t::number_unsigned: return detail::append_int(out, j.get<uint64_t>());
    default: out.append(j.dump(-1, ' ', false, json::error_handler_t::replace)); return;
  }
}

void append_json_string(std::string& out, std::string_view s) { detail::append_string(out, s); }

std::string dump(const json& j) {
  std::string out;
  out.reserve(256);  // most answers and items are small: one allocation instead of five
  append_json(out, j);
  return out;
}

namespace xml {

using nlohmann::json;

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#xD;"; break;
      case '\n': out += "&#xA;"; break;
      case '\t': out += "&#x9;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "&#x%X;", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
}

std::string scalar_text(const Shape& s, const Member* ref, const json& v) {
  switch (s.type) {
    case ShapeType::kBoolean:
      return v.is_boolean() ? (v.get<bool>() ? "true" : "false") : dump(v);
    case ShapeType::kTimestamp:
      if (v.is_number()) {
        return detail::format_timestamp(v.get<double>(),
                                        detail::timestamp_format(s, ref, detail::TimestampFormat::kIso8601));
      }
      break;
    case ShapeType::kFloat:
    case ShapeType::kDouble:
      if (v.is_number()) {
        double d = v.get<double>();
        if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
        return dump(v);
      }
      break;
    default:
      break;
  }
  if (v.is_string()) return v.get<std::string>();
  return dump(v);
}

namespace {

void open_tag(std::string& out, std::string_view name) {
  out.push_back('<');
  out.append(name);
  out.push_back('>');
}
void close_tag(std::string& out, std::string_view name) {
  out.append("</");
  out.append(name);
  out.push_back('>');
}

void write_value(std::string& out, std::string_view name, const Shape& s, const Member* ref, const json& v);

void write_list_items(std::string& out, std::string_view outer, const Shape& s, const Member& ref, const json& v) {
  bool flattened = s.flattened || ref.flattened;
  const Member& item = s.member();
  if (flattened) {
    std::string_view item_name = item.location_name.empty() ? outer : std::string_view(item.location_name);
    for (const auto& x : v) write_value(out, item_name, *item.shape, &item, x);
    return;
  }
  std::string_view item_name = item.location_name.empty() ? std::string_view("member") : std::string_view(item.location_name);
  open_tag(out, outer);
  for (const auto& x : v) write_value(out, item_name, *item.shape, &item, x);
  close_tag(out, outer);
}

void write_map_entries(std::string& out, std::string_view outer, const Shape& s, const Member& ref, const json& v) {
  bool flattened = s.flattened || ref.flattened;
  std::string_view key_name = s.key().location_name.empty() ? std::string_view("key") : std::string_view(s.key().location_name);
  std::string_view value_name =
      s.value().location_name.empty() ? std::string_view("value") : std::string_view(s.value().location_name);
  if (!flattened) open_tag(out, outer);
  for (const auto& [k, x] : v.items()) {
    open_tag(out, flattened ? outer : std::string_view("entry"));
    write_value(out, key_name, *s.key().shape, &s.key(), json(k));
    write_value(out, value_name, *s.value().shape, &s.value(), x);
    close_tag(out, flattened ? outer : std::string_view("entry"));
  }
  if (!flattened) close_tag(out, outer);
}

void write_value(std::string& out, std::string_view name, const Shape& s, const Member* ref, const json& v) {
  switch (s.type) {
    case ShapeType::kStructure: {
      out.push_back('<');
      out.append(name);
      if (ref && !ref->xml_namespace_uri().empty()) {
        out.append(ref->xml_namespace_prefix().empty() ? " xmlns=\"" : " xmlns:" + ref->xml_namespace_prefix() + "=\"");
        append_escaped(out, ref->xml_namespace_uri());
        out.push_back('"');
      }
      for (const auto& m : s.members) {
        if (!m.xml_attribute || !v.is_object()) continue;
        auto it = v.find(m.name);
        if (it == v.end() || it->is_null()) continue;
        out.push_back(' ');
        out.append(m.wire_name());
        out.append("=\"");
        append_escaped(out, scalar_text(*m.shape, &m, *it));
        out.push_back('"');
      }
      out.push_back('>');
      if (v.is_object()) write_members(out, s, v);
      close_tag(out, name);
      return;
    }
    case ShapeType::kList:
      if (v.is_array() && ref) write_list_items(out, name, s, *ref, v);
      return;
    case ShapeType::kMap:
      if (v.is_object() && ref) write_map_entries(out, name, s, *ref, v);
      return;
    default:
      open_tag(out, name);
      append_escaped(out, scalar_text(s, ref, v));
      close_tag(out, name);
  }
}

}  // namespace

void write_member(std::string& out, const Member& m, const json& v) {
  if (v.is_null()) return;
  write_value(out, m.wire_name(), *m.shape, &m, v);
}

void write_members(std::string& out, const Shape& s, const json& v) {
  for (const auto& m : s.members) {
    if (m.xml_attribute || m.location != Location::kBody) continue;
    auto it = v.find(m.name);
    if (it == v.end()) continue;
    write_member(out, m, *it);
  }
}

void write_structure(std::string& out, std::string_view name, std::string_view ns, const Shape& s, const json& v) {
  out.push_back('<');
  out.append(name);
  if (!ns.empty()) {
    out.append(" xmlns=\"");
    append_escaped(out, ns);
    out.push_back('"');
  }
  out.push_back('>');
  if (v.is_object()) write_members(out, s, v);
  close_tag(out, name);
}

// ---- reading ----

namespace {

std::string_view local_name(const pugi::xml_node& n) {
  std::string_view name = n.name();
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::optional<json> read_value(const pugi::xml_node& node, const Shape& s, std::string* error);

std::optional<json> read_structure(const pugi::xml_node& node, const Shape& s, std::string* error) {
  json obj = json::object();
  for (const auto& m : s.members) {
    if (m.location != Location::kBody) continue;
    if (m.xml_attribute) {
      std::string_view wn = m.wire_name();
      for (auto attr = node.first_attribute(); attr; attr = attr.next_attribute()) {
        std::string_view an = attr.name();
        auto colon = an.find(':');
        if (an == wn || (colon != std::string_view::npos && an.substr(colon + 1) == wn)) {
          auto v = detail::scalar_from_text(*m.shape, attr.value());
          if (v) obj[m.name] = std::move(*v);
        }
      }
      continue;
    }
    const Shape& ms = *m.shape;
    bool flattened = (ms.type == ShapeType::kList || ms.type == ShapeType::kMap) && (ms.flattened || m.flattened);
    std::string_view wn = m.wire_name();
    if (flattened && ms.type == ShapeType::kList && !ms.member().location_name.empty()) {
      wn = ms.member().location_name;
    }
    if (flattened) {
      json items = ms.type == ShapeType::kList ? json::array() : json::object();
      bool any = false;
      for (auto child = node.first_child(); child; child = child.next_sibling()) {
        if (child.type() != pugi::node_element || local_name(child) != wn) continue;
        any = true;
        if (ms.type == ShapeType::kList) {
          auto v = read_value(child, *ms.member().shape, error);
          if (!v) return std::nullopt;
          items.push_back(std::move(*v));
        } else {
          std::string kn = ms.key().location_name.empty() ? "key" : ms.key().location_name;
          std::string vn = ms.value().location_name.empty() ? "value" : ms.value().location_name;
          auto v = read_value(child.child(vn.c_str()), *ms.value().shape, error);
          if (!v) return std::nullopt;
          items[child.child_value(kn.c_str())] = std::move(*v);
        }
      }
      if (any) obj[m.name] = std::move(items);
      continue;
    }
    for (auto child = node.first_child(); child; child = child.next_sibling()) {
      if (child.type() == pugi::node_element && local_name(child) == wn) {
        auto v = read_value(child, ms, error);
        if (!v) return std::nullopt;
        obj[m.name] = std::move(*v);
        break;
      }
    }
  }
  return obj;
}

std::optional<json> read_value(const pugi::xml_node& node, const Shape& s, std::string* error) {
  switch (s.type) {
    case ShapeType::kStructure:
      return read_structure(node, s, error);
    case ShapeType::kList: {
      json arr = json::array();
      std::string_view item = s.member().location_name.empty() ? std::string_view("member") : s.member().location_name;
      for (auto child = node.first_child(); child; child = child.next_sibling()) {
        if (child.type() != pugi::node_element || local_name(child) != item) continue;
        auto v = read_value(child, *s.member().shape, error);
        if (!v) return std::nullopt;
        arr.push_back(std::move(*v));
      }
      return arr;
    }
    case ShapeType::kMap: {
      json obj = json::object();
      std::string kn = s.key().location_name.empty() ? "key" : s.key().location_name;
      std::string vn = s.value().location_name.empty() ? "value" : s.value().location_name;
      for (auto entry = node.child("entry"); entry; entry = entry.next_sibling("entry")) {
        auto v = read_value(entry.child(vn.c_str()), *s.value().shape, error);
        if (!v) return std::nullopt;
        obj[entry.child_value(kn.c_str())] = std::move(*v);
      }
      return obj;
    }
    default: {
      std::string_view text = node.child_value();
      auto v = detail::scalar_from_text(s, text);
      if (!v) {
        *error = "The XML you provided was not well-formed or did not validate against our published schema";
        return std::nullopt;
      }
      return v;
    }
  }
}

}  // namespace

Outcome<json> parse_document(std::string_view body, const Shape& shape) {
  pugi::xml_document doc;
  auto res = doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
                             pugi::encoding_utf8);
  if (!res) {
    return ServiceError("MalformedXML",
                        "The XML you provided was not well-formed or did not validate against our published schema");
  }
  pugi::xml_node root = doc.document_element();
  if (!root) {
    return ServiceError("MalformedXML",
                        "The XML you provided was not well-formed or did not validate against our published schema");
  }
  std::string error;
  auto v = read_value(root, shape, &error);
  if (!v) return ServiceError("MalformedXML", error);
  return std::move(*v);
}

}  // namespace xml
}  // namespace sless::protocol
