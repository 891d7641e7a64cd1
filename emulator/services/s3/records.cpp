#include "services/s3/records.h"

#include "core/encoding.h"
#include "services/s3/common.h"
#include "core/ids.h"
#include "storage/keys.h"

namespace sless::services::s3 {

using nlohmann::json;
namespace key = storage::key;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::optional<json> parse(std::string_view bytes) {
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

template <class T>
T num(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number() ? it->get<T>() : T{};
}
json opt(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() ? *it : json();
}
void put_str(json& j, const char* k, const std::string& v) {
  if (!v.empty()) j[k] = v;
}

// The key encoding of `s` without the component terminator: a prefix of every key starting so.
void append_prefix(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\0') {
      out.append("\0\xFF", 2);
    } else {
      out.push_back(c);
    }
  }
}

std::string base(char kind) {
  std::string k = key::scope("", "");
  key::append_string(k, std::string_view(&kind, 1));
  return k;
}

json object_json(const ObjectRecord& o) {
  json j = json::object();
  j["v"] = o.version_id;
  if (o.delete_marker) j["dm"] = true;
  j["q"] = o.seq;
  j["t"] = o.last_modified_ms;
  j["s"] = o.size;
  put_str(j, "e", o.etag);
  put_str(j, "ct", o.content_type);
  put_str(j, "ce", o.content_encoding);
  put_str(j, "cd", o.content_disposition);
  put_str(j, "cl", o.content_language);
  put_str(j, "cc", o.cache_control);
  put_str(j, "ex", o.expires);
  put_str(j, "wr", o.website_redirect);
  put_str(j, "sc", o.storage_class);
  put_str(j, "o", o.owner);
  if (!o.metadata.empty()) j["m"] = o.metadata;
  if (!o.tags.empty()) j["tg"] = o.tags;
  put_str(j, "ca", o.checksum_algorithm);
  put_str(j, "cv", o.checksum);
  put_str(j, "cy", o.checksum_type);
  if (!o.segments.empty()) {
    json segs = json::array();
    for (const auto& s : o.segments) segs.push_back(json::array({s.id, s.size}));
    j["sg"] = std::move(segs);
  }
  if (!o.parts.empty()) {
    json parts = json::array();
    for (const auto& p : o.parts) parts.push_back(json::array({p.size, p.checksum}));
    j["p"] = std::move(parts);
  }
  return j;
}

void object_from_json(const json& j, ObjectRecord& o) {
  o.version_id = str(j, "v");
  if (o.version_id.empty()) o.version_id = "null";
  o.delete_marker = j.value("dm", false);
  o.seq = num<uint64_t>(j, "q");
  o.last_modified_ms = num<int64_t>(j, "t");
  o.size = num<uint64_t>(j, "s");
  o.etag = str(j, "e");
  o.content_type = str(j, "ct");
  o.content_encoding = str(j, "ce");
  o.content_disposition = str(j, "cd");
  o.content_language = str(j, "cl");
  o.cache_control = str(j, "cc");
  o.expires = str(j, "ex");
  o.website_redirect = str(j, "wr");
  o.storage_class = str(j, "sc");
  o.owner = str(j, "o");
  if (auto it = j.find("m"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) o.metadata[k] = v.get<std::string>();
    }
  }
  if (auto it = j.find("tg"); it != j.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_array() && t.size() == 2 && t[0].is_string() && t[1].is_string()) {
        o.tags.emplace_back(t[0].get<std::string>(), t[1].get<std::string>());
      }
    }
  }
  o.checksum_algorithm = str(j, "ca");
  o.checksum = str(j, "cv");
  o.checksum_type = str(j, "cy");
  if (auto it = j.find("sg"); it != j.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (s.is_array() && s.size() == 2 && s[0].is_string() && s[1].is_number()) {
        o.segments.push_back(Segment{s[0].get<std::string>(), s[1].get<uint64_t>()});
      }
    }
  }
  if (auto it = j.find("p"); it != j.end() && it->is_array()) {
    for (const auto& p : *it) {
      if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_string()) {
        o.parts.push_back(PartFact{p[0].get<uint64_t>(), p[1].get<std::string>()});
      }
    }
  }
}

}  // namespace

// ---- Bucket ----

std::string Bucket::encode() const {
  json j = {{"name", name}, {"owner", owner}, {"region", region}, {"created", created_ms}};
  put_str(j, "versioning", versioning);
  if (!cors.is_null()) j["cors"] = cors;
  if (!tags.is_null()) j["tags"] = tags;
  put_str(j, "policy", policy);
  if (!notification.is_null()) j["notification"] = notification;
  if (!lifecycle.is_null()) j["lifecycle"] = lifecycle;
  if (!encryption.is_null()) j["encryption"] = encryption;
  put_str(j, "ownership", ownership);
  return dump(j);
}

std::optional<Bucket> Bucket::decode(std::string_view bytes) {
  auto j = parse(bytes);
  if (!j) return std::nullopt;
  Bucket b;
  b.name = str(*j, "name");
  b.owner = str(*j, "owner");
  b.region = str(*j, "region");
  b.created_ms = num<int64_t>(*j, "created");
  b.versioning = str(*j, "versioning");
  b.cors = opt(*j, "cors");
  b.tags = opt(*j, "tags");
  b.policy = str(*j, "policy");
  b.notification = opt(*j, "notification");
  b.lifecycle = opt(*j, "lifecycle");
  b.encryption = opt(*j, "encryption");
  b.ownership = str(*j, "ownership");
  return b;
}

// ---- ObjectRecord ----

namespace {

// The binary layout of an object record (hot path: one per PUT, one decode per GET):
//   0x01 | flags | varint seq, last_modified, size | 14 length-prefixed strings |
//   metadata (count, key, value...) | tags | segments (count, id, size...) | parts (count, size,
//   checksum...) | inline body bytes (the rest)
constexpr char kRecordVersion = 0x01;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      auto c = static_cast<unsigned char>(in.front());
      in.remove_prefix(1);
      v |= static_cast<uint64_t>(c & 0x7F) << shift;
      if (!(c & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  std::string bytes() {
    uint64_t n = varint();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, static_cast<size_t>(n)));
    in.remove_prefix(static_cast<size_t>(n));
    return s;
  }
  // A count of following entries, each at least `min_bytes` long (guards absurd counts).
  uint64_t count(size_t min_bytes) {
    uint64_t n = varint();
    if (!ok || n > in.size() / min_bytes) ok = false;
    return ok ? n : 0;
  }
};

}  // namespace

std::string ObjectRecord::encode() const {
  std::string out;
  out.reserve(128 + etag.size() + content_type.size() + (segments.empty() ? inline_body.size() : 0));
  out.push_back(kRecordVersion);
  out.push_back(static_cast<char>(delete_marker ? 1 : 0));
  put_varint(out, seq);
  put_varint(out, static_cast<uint64_t>(last_modified_ms));
  put_varint(out, size);
  for (const std::string* s : {&version_id, &etag, &content_type, &content_encoding, &content_disposition,
                               &content_language, &cache_control, &expires, &website_redirect, &storage_class, &owner,
                               &checksum_algorithm, &checksum, &checksum_type}) {
    put_bytes(out, *s);
  }
  put_varint(out, metadata.size());
  for (const auto& [k, v] : metadata) {
    put_bytes(out, k);
    put_bytes(out, v);
  }
  put_varint(out, tags.size());
  for (const auto& [k, v] : tags) {
    put_bytes(out, k);
    put_bytes(out, v);
  }
  put_varint(out, segments.size());
  for (const auto& s : segments) {
    put_bytes(out, s.id);
    put_varint(out, s.size);
  }
  put_varint(out, parts.size());
  for (const auto& p : parts) {
    put_varint(out, p.size);
    put_bytes(out, p.checksum);
  }
  if (segments.empty()) out.append(inline_body);
  return out;
}

std::optional<ObjectRecord> ObjectRecord::decode(std::string_view bytes) {
  if (bytes.size() < 2 || bytes[0] != kRecordVersion) return std::nullopt;
  Reader r{bytes.substr(2)};
  ObjectRecord o;
  o.delete_marker = bytes[1] != 0;
  o.seq = r.varint();
  o.last_modified_ms = static_cast<int64_t>(r.varint());
  o.size = r.varint();
  for (std::string* s : {&o.version_id, &o.etag, &o.content_type, &o.content_encoding, &o.content_disposition,
                         &o.content_language, &o.cache_control, &o.expires, &o.website_redirect, &o.storage_class,
                         &o.owner, &o.checksum_algorithm, &o.checksum, &o.checksum_type}) {
    *s = r.bytes();
  }
  for (uint64_t n = r.count(2); n > 0 && r.ok; --n) {
    std::string k = r.bytes();
    o.metadata[std::move(k)] = r.bytes();
  }
  for (uint64_t n = r.count(2); n > 0 && r.ok; --n) {
    std::string k = r.bytes();
    o.tags.emplace_back(std::move(k), r.bytes());
  }
  for (uint64_t n = r.count(2); n > 0 && r.ok; --n) {
    std::string id = r.bytes();
    o.segments.push_back(Segment{std::move(id), r.varint()});
  }
  for (uint64_t n = r.count(2); n > 0 && r.ok; --n) {
    uint64_t size = r.varint();
    o.parts.push_back(PartFact{size, r.bytes()});
  }
  if (!r.ok) return std::nullopt;
  if (o.version_id.empty()) o.version_id = "null";
  if (o.segments.empty()) o.inline_body.assign(r.in.data(), r.in.size());
  return o;
}

// ---- Upload / Part ----

std::string Upload::encode() const {
  json j = {{"bucket", bucket}, {"key", key}, {"id", upload_id}, {"initiated", initiated_ms}, {"owner", owner},
            {"object", object_json(object)}};
  put_str(j, "ca", checksum_algorithm);
  put_str(j, "cy", checksum_type);
  return dump(j);
}

std::optional<Upload> Upload::decode(std::string_view bytes) {
  auto j = parse(bytes);
  if (!j) return std::nullopt;
  Upload u;
  u.bucket = str(*j, "bucket");
  u.key = str(*j, "key");
  u.upload_id = str(*j, "id");
  u.initiated_ms = num<int64_t>(*j, "initiated");
  u.owner = str(*j, "owner");
  if (auto it = j->find("object"); it != j->end() && it->is_object()) object_from_json(*it, u.object);
  u.checksum_algorithm = str(*j, "ca");
  u.checksum_type = str(*j, "cy");
  return u;
}

std::string Part::encode() const {
  json j = {{"n", number}, {"id", body_id}, {"s", size}, {"e", etag}, {"t", last_modified_ms}};
  put_str(j, "c", checksum);
  return dump(j);
}

std::optional<Part> Part::decode(std::string_view bytes) {
  auto j = parse(bytes);
  if (!j) return std::nullopt;
  Part p;
  p.number = num<int>(*j, "n");
  p.body_id = str(*j, "id");
  p.size = num<uint64_t>(*j, "s");
  p.etag = str(*j, "e");
  p.last_modified_ms = num<int64_t>(*j, "t");
  p.checksum = str(*j, "c");
  return p;
}

// ---- keys ----

namespace keys {

std::string bucket(std::string_view b) {
  std::string k = base('B');
  key::append_string(k, b);
  return k;
}
std::string bucket_prefix() { return base('B'); }
std::string everything() { return key::scope("", ""); }

std::string bucket_all(char kind, std::string_view b) {
  std::string k = base(kind);
  key::append_string(k, b);
  return k;
}

std::string current(std::string_view b, std::string_view k) {
  std::string out = bucket_all('O', b);
  key::append_string(out, k);
  return out;
}
std::string current_prefix(std::string_view b, std::string_view p) {
  std::string out = bucket_all('O', b);
  append_prefix(out, p);
  return out;
}
std::string version(std::string_view b, std::string_view k, uint64_t seq) {
  std::string out = versions_of(b, k);
  key::append_u64(out, ~seq);
  return out;
}
std::string versions_of(std::string_view b, std::string_view k) {
  std::string out = bucket_all('V', b);
  key::append_string(out, k);
  return out;
}
std::string version_prefix(std::string_view b, std::string_view p) {
  std::string out = bucket_all('V', b);
  append_prefix(out, p);
  return out;
}
std::string upload(std::string_view b, std::string_view k, std::string_view id) {
  std::string out = bucket_all('U', b);
  key::append_string(out, k);
  key::append_string(out, id);
  return out;
}
std::string upload_prefix(std::string_view b, std::string_view p) {
  std::string out = bucket_all('U', b);
  append_prefix(out, p);
  return out;
}
std::string part(std::string_view id, int number) {
  std::string out = parts_of(id);
  key::append_u64(out, static_cast<uint64_t>(number));
  return out;
}
std::string parts_of(std::string_view id) {
  std::string out = base('P');
  key::append_string(out, id);
  return out;
}

bool read_object_key(std::string_view full, size_t prefix_len, std::string* k) {
  if (full.size() < prefix_len) return false;
  full.remove_prefix(prefix_len);
  return key::read_string(full, k) && full.empty();
}
bool read_version_key(std::string_view full, size_t prefix_len, std::string* k, uint64_t* seq) {
  if (full.size() < prefix_len) return false;
  full.remove_prefix(prefix_len);
  uint64_t inv = 0;
  if (!key::read_string(full, k) || !key::read_u64(full, &inv)) return false;
  *seq = ~inv;
  return true;
}
bool read_upload_key(std::string_view full, size_t prefix_len, std::string* k, std::string* id) {
  if (full.size() < prefix_len) return false;
  full.remove_prefix(prefix_len);
  return key::read_string(full, k) && key::read_string(full, id);
}
bool read_bucket_key(std::string_view full, std::string* b) {
  std::string p = base('B');
  if (full.size() < p.size()) return false;
  full.remove_prefix(p.size());
  return key::read_string(full, b);
}

}  // namespace keys

std::string make_version_id(uint64_t seq) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(seq));
  return std::string(buf) + ids::random_alnum(16);
}

std::optional<uint64_t> version_seq(std::string_view id) {
  if (id.size() != 32) return std::nullopt;
  uint64_t v = 0;
  for (char c : id.substr(0, 16)) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace sless::services::s3
