#include "services/sqs/message.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/crypto.h"
#include "core/encoding.h"

namespace sless::services::sqs {
namespace {

constexpr uint8_t kMessageVersion = 1;

void put_u64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
void put_str(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}
bool get_u64(std::string_view& in, uint64_t* v) {
  if (in.size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(8);
  *v = r;
  return true;
}
bool get_i64(std::string_view& in, int64_t* v) {
  uint64_t u = 0;
  if (!get_u64(in, &u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}
bool get_str(std::string_view& in, std::string* s) {
  uint64_t n = 0;
  if (!get_u64(in, &n) || in.size() < n) return false;
  s->assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

void put_len_prefixed(std::string& out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(s);
}

bool valid_attribute_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  if (name.front() == '.' || name.back() == '.') return false;
  if (enc::starts_with(enc::to_lower(name), "aws.") || enc::starts_with(enc::to_lower(name), "amazon.")) {
    return false;
  }
  char prev = 0;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

bool valid_number(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

ServiceError invalid_attr(std::string message) { return ServiceError("InvalidParameterValue", std::move(message)); }

}  // namespace

std::string encode_message(const Message& m) {
  std::string out;
  out.reserve(m.body.size() + 256);
  out.push_back(static_cast<char>(kMessageVersion));
  put_u64(out, m.seq);
  put_str(out, m.id);
  put_str(out, m.body);
  put_str(out, m.md5_body);
  put_str(out, m.attributes.is_object() && !m.attributes.empty() ? m.attributes.dump() : std::string());
  put_str(out, m.md5_attributes);
  put_str(out, m.trace_header);
  put_str(out, m.md5_system);
  put_str(out, m.sender_id);
  put_u64(out, static_cast<uint64_t>(m.sent_ms));
  put_str(out, m.group_id);
  put_str(out, m.dedup_id);
  put_str(out, m.sequence_number);
  put_str(out, m.dlq_source_arn);
  out += encode_state(m);
  return out;
}

std::string encode_state(const Message& m) {
  std::string out;
  out.reserve(32);
  put_u64(out, static_cast<uint64_t>(m.visible_at_ms));
  put_u64(out, static_cast<uint64_t>(m.receive_count));
  put_u64(out, static_cast<uint64_t>(m.first_receive_ms));
  put_u64(out, m.receipt_nonce);
  return out;
}

bool decode_message(std::string_view in, Message* m) {
  if (in.empty() || static_cast<uint8_t>(in[0]) != kMessageVersion) return false;
  in.remove_prefix(1);
  std::string attrs;
  uint64_t sent = 0;
  if (!get_u64(in, &m->seq) || !get_str(in, &m->id) || !get_str(in, &m->body) || !get_str(in, &m->md5_body) ||
      !get_str(in, &attrs) || !get_str(in, &m->md5_attributes) || !get_str(in, &m->trace_header) ||
      !get_str(in, &m->md5_system) || !get_str(in, &m->sender_id) || !get_u64(in, &sent) ||
      !get_str(in, &m->group_id) || !get_str(in, &m->dedup_id) || !get_str(in, &m->sequence_number) ||
      !get_str(in, &m->dlq_source_arn)) {
    return false;
  }
  m->sent_ms = static_cast<int64_t>(sent);
  m->attributes = attrs.empty() ? nlohmann::json() : nlohmann::json::parse(attrs, nullptr, false);
  if (m->attributes.is_discarded()) m->attributes = nlohmann::json();
  return decode_state(in, m);
}

bool decode_state(std::string_view in, Message* m) {
  uint64_t count = 0;
  if (!get_i64(in, &m->visible_at_ms) || !get_u64(in, &count) || !get_i64(in, &m->first_receive_ms) ||
      !get_u64(in, &m->receipt_nonce)) {
    return false;
  }
  m->receive_count = static_cast<int32_t>(count);
  return true;
}

std::string md5_hex(std::string_view data) { return enc::hex_encode(crypto::md5(data)); }

std::string md5_of_attributes(const nlohmann::json& attributes) {
  if (!attributes.is_object() || attributes.empty()) return {};
  std::vector<std::string> names;
  for (auto it = attributes.begin(); it != attributes.end(); ++it) names.push_back(it.key());
  std::sort(names.begin(), names.end());
  std::string buf;
  for (const auto& name : names) {
    const auto& v = attributes[name];
    std::string type = v.value("DataType", "");
    put_len_prefixed(buf, name);
    put_len_prefixed(buf, type);
    if (v.contains("BinaryValue") && v["BinaryValue"].is_string()) {
      buf.push_back(2);
      auto raw = enc::base64_decode(v["BinaryValue"].get<std::string>());
      put_len_prefixed(buf, raw ? *raw : std::string());
    } else {
      buf.push_back(1);
      put_len_prefixed(buf, v.value("StringValue", ""));
    }
  }
  return md5_hex(buf);
}

bool valid_message_chars(std::string_view text) {
  // Below 0x20 only tab, LF and CR are allowed.
  auto refused_control = [](unsigned char c) { return c < 0x20 && c != 0x9 && c != 0xA && c != 0xD; };
  // Most bodies are printable ASCII: one pass without the UTF-8 decoding below, eight bytes at a
  // time where none has its high bit set or is below 0x20, else a byte at a time.
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  constexpr uint64_t kSpaces = 0x2020202020202020ull;
  bool ascii = true;
  size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      uint64_t w;
      std::memcpy(&w, text.data() + i, 8);
      if (((w | (w - kSpaces)) & kHigh) == 0) {  // all eight in 0x20..0x7f
        i += 8;
        continue;
      }
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    if (refused_control(c)) return false;
    ++i;
  }
  if (ascii) return true;
  if (!enc::is_valid_utf8(text)) return false;
  i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (refused_control(c)) return false;
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    if (cp == 0xFFFE || cp == 0xFFFF) return false;
    i += len;
  }
  return true;
}

Outcome<int64_t> validate_attributes(const nlohmann::json& attributes, bool system) {
  if (attributes.is_null()) return int64_t{0};
  if (!attributes.is_object()) return invalid_attr("Message attributes must be a map.");
  if (!system && attributes.size() > static_cast<size_t>(kMaxMessageAttributes)) {
    return invalid_attr(fmt::format("Number of message attributes [{}] exceeds the allowed maximum [{}].",
                                    attributes.size(), kMaxMessageAttributes));
  }
  int64_t size = 0;
  for (auto it = attributes.begin(); it != attributes.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (system) {
      if (name != "AWSTraceHeader") {
        return invalid_attr(fmt::format("Message system attribute name '{}' is invalid.", name));
      }
    } else if (!valid_attribute_name(name)) {
      return invalid_attr(fmt::format("Message attribute name '{}' is invalid.", name));
    }
    std::string type = v.is_object() ? v.value("DataType", "") : "";
    if (type.empty()) {
      return invalid_attr(fmt::format("The message attribute '{}' must contain non-empty message attribute type.", name));
    }
    std::string base = type.substr(0, type.find('.'));
    if (base != "String" && base != "Number" && base != "Binary") {
      return invalid_attr(fmt::format("The type of message attribute '{}' is invalid. You must use only the "
                                      "following supported type prefixes: Binary, Number, String.", name));
    }
    if (type.size() > 256) return invalid_attr(fmt::format("Message attribute type of '{}' is too long.", name));
    if (system && type != "String") {
      return invalid_attr(fmt::format("The message system attribute '{}' must be of type String.", name));
    }
    size += static_cast<int64_t>(name.size() + type.size());
    if (base == "Binary") {
      if (!v.contains("BinaryValue") || !v["BinaryValue"].is_string()) {
        return invalid_attr(fmt::format("The message attribute '{}' with type 'Binary' must use field 'Binary'.", name));
      }
      auto raw = enc::base64_decode(v["BinaryValue"].get<std::string>());
      if (!raw) return invalid_attr(fmt::format("The message attribute '{}' has an invalid binary value.", name));
      if (raw->empty()) {
        return invalid_attr(fmt::format("Message attribute '{}' must contain a non-empty value of type 'Binary'.", name));
      }
      size += static_cast<int64_t>(raw->size());
    } else {
      if (!v.contains("StringValue") || !v["StringValue"].is_string()) {
        return invalid_attr(fmt::format("The message attribute '{}' with type '{}' must use field 'String'.", name, base));
      }
      const std::string& s = v["StringValue"].get_ref<const std::string&>();
      if (s.empty()) {
        return invalid_attr(fmt::format("Message attribute '{}' must contain a non-empty value of type '{}'.", name, base));
      }
      if (base == "Number" && !valid_number(s)) {
        return invalid_attr(fmt::format("Could not cast message attribute '{}' value to number.", name));
      }
      if (!valid_message_chars(s)) {
        return ServiceError("InvalidMessageContents",
                            fmt::format("Invalid characters found in the message attribute '{}'.", name));
      }
      size += static_cast<int64_t>(s.size());
    }
  }
  return size;
}

std::string make_receipt(uint64_t queue_id, uint64_t seq, uint64_t nonce) {
  std::string raw;
  raw.reserve(32);
  put_u64(raw, queue_id);
  put_u64(raw, seq);
  put_u64(raw, nonce);
  put_u64(raw, queue_id ^ seq ^ nonce ^ 0x5a5a5a5a5a5a5a5aULL);  // a check word
  return enc::base64_encode(raw);
}

std::optional<Receipt> parse_receipt(std::string_view handle) {
  auto raw = enc::base64_decode(handle);
  if (!raw || raw->size() != 32) return std::nullopt;
  std::string_view in(*raw);
  Receipt r;
  uint64_t check = 0;
  if (!get_u64(in, &r.queue_id) || !get_u64(in, &r.seq) || !get_u64(in, &r.nonce) || !get_u64(in, &check)) {
    return std::nullopt;
  }
  if (check != (r.queue_id ^ r.seq ^ r.nonce ^ 0x5a5a5a5a5a5a5a5aULL)) return std::nullopt;
  return r;
}

}  // namespace sless::services::sqs
