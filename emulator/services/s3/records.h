// S3's persistent records (buckets, object versions, multipart uploads and parts) and their
// encodings, plus the RocksDB key layout. Value types; pure functions; any thread.
//
// Family "s3", keys in the global scope (bucket names are global across accounts):
//   B <bucket>                       → Bucket (JSON)
//   O <bucket> <key>                 → ObjectRecord of the current, live version (listing order)
//   V <bucket> <key> <~seq>          → ObjectRecord of every version, newest first (versioned buckets)
//   U <bucket> <key> <upload id>     → Upload (JSON)
//   P <upload id> <part number>      → Part (JSON)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/s3/bodies.h"

namespace sless::services::s3 {

struct Bucket {
  std::string name;
  std::string owner;       // account id
  std::string region;
  int64_t created_ms = 0;
  std::string versioning;  // "", "Enabled", "Suspended"
  nlohmann::json cors;          // CORSConfiguration params tree, null when unset
  nlohmann::json tags;          // [{Key, Value}], null when unset
  std::string policy;           // JSON text, empty when unset
  nlohmann::json notification;  // NotificationConfiguration params tree, null when unset
  nlohmann::json lifecycle;     // BucketLifecycleConfiguration params tree, null when unset
  nlohmann::json encryption;    // ServerSideEncryptionConfiguration, null = default (AES256)
  std::string ownership;        // ObjectOwnership, default BucketOwnerEnforced

  std::string encode() const;
  static std::optional<Bucket> decode(std::string_view bytes);
};

// Per-part facts of a multipart object (GetObject partNumber, GetObjectAttributes).
struct PartFact {
  uint64_t size = 0;
  std::string checksum;  // base64, of the part's own bytes, when the upload had an algorithm
};

struct ObjectRecord {
  std::string version_id = "null";
  bool delete_marker = false;
  uint64_t seq = 0;                // position among the key's versions (V key)
  int64_t last_modified_ms = 0;
  uint64_t size = 0;
  std::string etag;                // without quotes
  std::string content_type;
  std::string content_encoding;
  std::string content_disposition;
  std::string content_language;
  std::string cache_control;
  std::string expires;             // as the client sent it
  std::string website_redirect;
  std::string storage_class;       // empty = STANDARD
  std::string owner;
  std::map<std::string, std::string> metadata;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string checksum_algorithm;  // "CRC32", ... or empty
  std::string checksum;            // base64 (with "-N" for composite multipart checksums)
  std::string checksum_type;       // FULL_OBJECT or COMPOSITE
  std::vector<Segment> segments;   // empty: the body is `inline_body`
  std::vector<PartFact> parts;     // multipart objects only
  std::string inline_body;

  bool is_inline() const { return segments.empty(); }
  std::string quoted_etag() const { return "\"" + etag + "\""; }
  // A compact binary layout (see records.cpp), the inline body last.
  std::string encode() const;
  static std::optional<ObjectRecord> decode(std::string_view bytes);
};

struct Upload {
  std::string bucket;
  std::string key;
  std::string upload_id;
  int64_t initiated_ms = 0;
  std::string owner;
  ObjectRecord object;             // metadata the completed object will carry
  std::string checksum_algorithm;  // requested for the parts
  std::string checksum_type;       // COMPOSITE or FULL_OBJECT

  std::string encode() const;
  static std::optional<Upload> decode(std::string_view bytes);
};

struct Part {
  int number = 0;
  std::string body_id;
  uint64_t size = 0;
  std::string etag;  // without quotes
  int64_t last_modified_ms = 0;
  std::string checksum;  // base64, in the upload's algorithm

  std::string encode() const;
  static std::optional<Part> decode(std::string_view bytes);
};

namespace keys {
std::string bucket(std::string_view bucket);
std::string bucket_prefix();                                  // every B key
std::string everything();                                     // every key of the family
std::string current(std::string_view bucket, std::string_view key);
// The start of the O keys of a bucket whose object key begins with `key_prefix` (no terminator).
std::string current_prefix(std::string_view bucket, std::string_view key_prefix);
std::string version(std::string_view bucket, std::string_view key, uint64_t seq);
std::string versions_of(std::string_view bucket, std::string_view key);  // every V key of one object key
std::string version_prefix(std::string_view bucket, std::string_view key_prefix);
std::string upload(std::string_view bucket, std::string_view key, std::string_view upload_id);
std::string upload_prefix(std::string_view bucket, std::string_view key_prefix);
std::string part(std::string_view upload_id, int number);
std::string parts_of(std::string_view upload_id);
std::string bucket_all(char kind, std::string_view bucket);  // every O/V/U key of a bucket

// Decoders for keys produced above: the object key (and seq / upload id) after the fixed prefix.
bool read_object_key(std::string_view full_key, size_t bucket_prefix_len, std::string* key);
bool read_version_key(std::string_view full_key, size_t bucket_prefix_len, std::string* key, uint64_t* seq);
bool read_upload_key(std::string_view full_key, size_t bucket_prefix_len, std::string* key, std::string* upload_id);
bool read_bucket_key(std::string_view full_key, std::string* bucket);
}  // namespace keys

// Version ids: 16 hex digits of the sequence number, then 16 random characters.
std::string make_version_id(uint64_t seq);
std::optional<uint64_t> version_seq(std::string_view version_id);

}  // namespace sless::services::s3
