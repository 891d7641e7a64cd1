#include "services/s3/common.h"

#include <algorithm>

#include "core/crypto.h"
#include "core/encoding.h"
#include "core/time_format.h"

namespace sless::services::s3 {

using nlohmann::json;

std::string str(const json& p, const char* key) {
  auto it = p.find(key);
  return it != p.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<int64_t> integer(const json& p, const char* key) {
  auto it = p.find(key);
  if (it == p.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

std::string canonical_id(const std::string& account) { return enc::hex_encode(crypto::sha256("sless:" + account)); }

json owner_json(const std::string& account) {
  return json{{"DisplayName", "webfile"}, {"ID", canonical_id(account)}};
}

void fill_object_result(const ObjectRecord& rec, bool versioned, json& result, protocol::OperationOutput& out) {
  result["ETag"] = rec.quoted_etag();
  result["LastModified"] = static_cast<double>(rec.last_modified_ms / 1000);
  result["ContentType"] = rec.content_type.empty() ? std::string("binary/octet-stream") : rec.content_type;
  if (!rec.content_encoding.empty()) result["ContentEncoding"] = rec.content_encoding;
  if (!rec.content_disposition.empty()) result["ContentDisposition"] = rec.content_disposition;
  if (!rec.content_language.empty()) result["ContentLanguage"] = rec.content_language;
  if (!rec.cache_control.empty()) result["CacheControl"] = rec.cache_control;
  if (!rec.expires.empty()) out.headers.emplace_back("Expires", rec.expires);
  if (!rec.website_redirect.empty()) result["WebsiteRedirectLocation"] = rec.website_redirect;
  if (!rec.metadata.empty()) result["Metadata"] = rec.metadata;
  if (versioned) result["VersionId"] = rec.version_id;
  if (!rec.storage_class.empty() && rec.storage_class != "STANDARD") result["StorageClass"] = rec.storage_class;
  if (!rec.tags.empty()) result["TagCount"] = rec.tags.size();
  result["ServerSideEncryption"] = "AES256";
  result["AcceptRanges"] = "bytes";
}

bool etag_matches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view one = header.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (enc::starts_with(one, "W/")) one.remove_prefix(2);
    if (one.size() >= 2 && one.front() == '"' && one.back() == '"') one = one.substr(1, one.size() - 2);
    if (one == "*" || one == etag) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

ConditionResult evaluate_conditions(const Conditions& c, const ObjectRecord& rec) {
  double modified = static_cast<double>(rec.last_modified_ms / 1000);
  if (!c.if_match.empty()) {
    if (!etag_matches(c.if_match, rec.etag)) return {412, "If-Match"};
  } else if (c.if_unmodified_since && modified > *c.if_unmodified_since) {
    return {412, "If-Unmodified-Since"};
  }
  if (!c.if_none_match.empty()) {
    if (etag_matches(c.if_none_match, rec.etag)) return {304, "If-None-Match"};
  } else if (c.if_modified_since && modified <= *c.if_modified_since) {
    return {304, "If-Modified-Since"};
  }
  return {};
}

namespace {

std::optional<ServiceError> check_tags(const std::vector<std::pair<std::string, std::string>>& tags, bool object) {
  if (object && tags.size() > 10) return ServiceError("BadRequest", "Object tags cannot be greater than 10");
  if (!object && tags.size() > 50) return ServiceError("BadRequest", "Bucket tag count cannot be greater than 50");
  for (size_t i = 0; i < tags.size(); ++i) {
    const auto& [k, v] = tags[i];
    if (k.empty() || k.size() > 128) return ServiceError("InvalidTag", "The TagKey you have provided is invalid");
    if (v.size() > 256) return ServiceError("InvalidTag", "The TagValue you have provided is invalid");
    if (enc::starts_with(k, "aws:")) {
      return ServiceError("InvalidTag", "Your TagKey cannot be prefixed with aws:");
    }
    for (size_t j = 0; j < i; ++j) {
      if (tags[j].first == k) return ServiceError("InvalidTag", "Cannot provide multiple Tags with the same key");
    }
  }
  return std::nullopt;
}

}  // namespace

Outcome<std::vector<std::pair<std::string, std::string>>> parse_tagging_header(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> tags;
  for (auto& p : http::parse_query(text)) tags.emplace_back(std::move(p.key), std::move(p.value));
  if (auto e = check_tags(tags, true)) return std::move(*e);
  return tags;
}

Outcome<std::vector<std::pair<std::string, std::string>>> tags_from_params(const json& tagging, bool object) {
  std::vector<std::pair<std::string, std::string>> tags;
  auto set = tagging.find("TagSet");
  if (!tagging.is_object() || set == tagging.end() || !set->is_array()) {
    return ServiceError("MalformedXML",
                        "The XML you provided was not well-formed or did not validate against our published schema");
  }
  for (const auto& t : *set) tags.emplace_back(str(t, "Key"), str(t, "Value"));
  if (auto e = check_tags(tags, object)) return std::move(*e);
  return tags;
}

json tags_to_params(const std::vector<std::pair<std::string, std::string>>& tags) {
  json set = json::array();
  for (const auto& [k, v] : tags) set.push_back(json{{"Key", k}, {"Value", v}});
  return set;
}

// Content headers, metadata, tags and storage class of a new object, from the request.
Outcome<ObjectRecord> record_from_params(const json& p) {
  ObjectRecord rec;
  rec.content_type = str(p, "ContentType");
  rec.content_encoding = str(p, "ContentEncoding");
  rec.content_disposition = str(p, "ContentDisposition");
  rec.content_language = str(p, "ContentLanguage");
  rec.cache_control = str(p, "CacheControl");
  rec.expires = str(p, "Expires");
  rec.website_redirect = str(p, "WebsiteRedirectLocation");
  rec.storage_class = str(p, "StorageClass");
  if (rec.storage_class == "STANDARD") rec.storage_class.clear();
  if (auto m = p.find("Metadata"); m != p.end() && m->is_object()) {
    for (const auto& [k, v] : m->items()) {
      if (v.is_string()) rec.metadata[enc::to_lower(k)] = v.get<std::string>();
    }
  }
  if (auto t = str(p, "Tagging"); !t.empty()) {
    auto tags = parse_tagging_header(t);
    if (!tags.ok()) return std::move(tags).error();
    rec.tags = std::move(tags).value();
  }
  return rec;
}

Conditions conditions_of(const json& p, bool copy_source) {
  Conditions c;
  const char* im = copy_source ? "CopySourceIfMatch" : "IfMatch";
  const char* inm = copy_source ? "CopySourceIfNoneMatch" : "IfNoneMatch";
  const char* ims = copy_source ? "CopySourceIfModifiedSince" : "IfModifiedSince";
  const char* ius = copy_source ? "CopySourceIfUnmodifiedSince" : "IfUnmodifiedSince";
  c.if_match = str(p, im);
  c.if_none_match = str(p, inm);
  if (auto it = p.find(ims); it != p.end() && it->is_number()) c.if_modified_since = it->get<double>();
  if (auto it = p.find(ius); it != p.end() && it->is_number()) c.if_unmodified_since = it->get<double>();
  return c;
}

Outcome<CopySource> parse_copy_source(const std::string& header) {
  std::string_view s = header;
  std::string version;
  if (auto q = s.find("?versionId="); q != std::string_view::npos) {
    version = enc::percent_decode(s.substr(q + 11));
    s = s.substr(0, q);
  }
  std::string decoded = enc::percent_decode(s);
  std::string_view d = decoded;
  if (!d.empty() && d.front() == '/') d.remove_prefix(1);
  auto slash = d.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == d.size()) {
    return ServiceError("InvalidArgument", "Invalid copy source object key")
        .with("ArgumentName", "x-amz-copy-source")
        .with("ArgumentValue", header);
  }
  return CopySource{std::string(d.substr(0, slash)), std::string(d.substr(slash + 1)), version};
}

protocol::OperationOutput xml_output(json result, const char* root) {
  protocol::OperationOutput out(std::move(result));
  out.xml_root = root;
  return out;
}

std::string ListParams::rollup(const std::string& key) const {
  if (delimiter.empty() || key.size() < prefix.size()) return {};
  auto pos = key.find(delimiter, prefix.size());
  return pos == std::string::npos ? std::string() : key.substr(0, pos + delimiter.size());
}

Outcome<ListParams> ListParams::from(const json& p, const char* max_member, const char* max_name) {
  ListParams lp;
  lp.prefix = str(p, "Prefix");
  lp.delimiter = str(p, "Delimiter");
  lp.url = str(p, "EncodingType") == "url";
  int64_t max = integer(p, max_member).value_or(1000);
  if (max < 0) {
    return ServiceError("InvalidArgument", std::string("Provided ") + max_name + " not an integer or within integer range")
        .with("ArgumentName", max_name)
        .with("ArgumentValue", std::to_string(max));
  }
  lp.max = std::min<int64_t>(max, 1000);
  return lp;
}

void ListParams::describe(json& result, const char* max_member) const {
  result["Prefix"] = shown(prefix, url);
  result[max_member] = max;
  if (!delimiter.empty()) result["Delimiter"] = shown(delimiter, url);
  if (url) result["EncodingType"] = "url";
}

std::string shown(const std::string& text, bool url) { return url ? enc::percent_encode(text, true) : text; }

std::optional<ServiceError> check_key(const std::string& key) {
  if (key.empty()) return ServiceError("InvalidArgument", "A key must be specified");
  if (key.size() > kMaxKeyBytes) {
    return ServiceError("KeyTooLongError", "Your key is too long")
        .with("MaxSizeAllowed", std::to_string(kMaxKeyBytes))
        .with("Size", std::to_string(key.size()));
  }
  return std::nullopt;
}

std::optional<ByteRange> parse_range(std::string_view h, uint64_t size) {
  if (!enc::starts_with(h, "bytes=")) return std::nullopt;
  h.remove_prefix(6);
  if (h.find(',') != std::string_view::npos) return std::nullopt;
  auto dash = h.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = v;
    return true;
  };
  std::string_view a = h.substr(0, dash);
  std::string_view b = h.substr(dash + 1);
  ByteRange r;
  uint64_t first = 0;
  uint64_t last = 0;
  if (a.empty()) {  // suffix: the last N bytes
    if (!number(b, &last)) return std::nullopt;
    if (last == 0 || size == 0) {
      r.unsatisfiable = true;
      return r;
    }
    r.length = std::min(last, size);
    r.start = size - r.length;
    return r;
  }
  if (!number(a, &first)) return std::nullopt;
  if (!b.empty()) {
    if (!number(b, &last)) return std::nullopt;
    if (last < first) return std::nullopt;
  } else {
    last = UINT64_MAX;
  }
  if (first >= size) {
    r.unsatisfiable = true;
    return r;
  }
  r.start = first;
  r.length = std::min(last, size - 1) - first + 1;
  return r;
}

}  // namespace sless::services::s3
