// Internal to the S3 provider's sources: the per-bucket state, params helpers, and the pieces
// of S3's object semantics shared by several operations (response headers, conditions, tags).
// Pure helpers; BucketState is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "protocol/codec.h"
#include "services/s3/provider.h"
#include "services/s3/records.h"

namespace sless::services::s3 {

// Bodies up to this size live inline in the metadata record (one RocksDB write per PUT).
inline constexpr uint64_t kInlineLimit = 64 * 1024;
inline constexpr uint64_t kMaxPutSize = 5ull * 1024 * 1024 * 1024;  // 5 GiB
inline constexpr uint64_t kMinPartSize = 5ull * 1024 * 1024;        // 5 MiB
inline constexpr int kMaxParts = 10000;
inline constexpr size_t kMaxKeyBytes = 1024;

struct S3Provider::BucketState {
  std::shared_mutex objects;  // object writes shared, DeleteBucket exclusive
  std::mutex write_mu;        // serializes configuration changes

  std::shared_ptr<const Bucket> get() const {
    std::lock_guard lock(mu_);
    return meta_;
  }
  void set(std::shared_ptr<const Bucket> m) {
    std::lock_guard lock(mu_);
    meta_ = std::move(m);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Bucket> meta_;
};

std::string str(const nlohmann::json& p, const char* key);
// An integer member, or nullopt when absent.
std::optional<int64_t> integer(const nlohmann::json& p, const char* key);

// S3's canonical user id for an account, and the Owner element.
std::string canonical_id(const std::string& account);
nlohmann::json owner_json(const std::string& account);

// GetObject / HeadObject response members and headers of a stored object.
void fill_object_result(const ObjectRecord& rec, bool versioned, nlohmann::json& result,
                        protocol::OperationOutput& out);

bool etag_matches(std::string_view header, std::string_view etag);

// Evaluates If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since (or their
// x-amz-copy-source- counterparts): 0 when the request proceeds, 304 or 412 otherwise.
struct Conditions {
  std::string if_match;
  std::string if_none_match;
  std::optional<double> if_modified_since;    // epoch seconds
  std::optional<double> if_unmodified_since;
};
struct ConditionResult {
  int status = 0;
  std::string condition;  // the header that failed
};
ConditionResult evaluate_conditions(const Conditions& c, const ObjectRecord& rec);
// The conditions of a request: If-* members, or with copy_source the x-amz-copy-source-if-* ones.
Conditions conditions_of(const nlohmann::json& params, bool copy_source);

// x-amz-copy-source: "bucket/key[?versionId=...]", URL-encoded, with or without a leading '/'.
struct CopySource {
  std::string bucket;
  std::string key;
  std::string version_id;
};
Outcome<CopySource> parse_copy_source(const std::string& header);

// Tags from the x-amz-tagging header (URL query form) or a Tagging params tree, validated.
Outcome<std::vector<std::pair<std::string, std::string>>> parse_tagging_header(std::string_view text);
Outcome<std::vector<std::pair<std::string, std::string>>> tags_from_params(const nlohmann::json& tagging,
                                                                            bool object);
nlohmann::json tags_to_params(const std::vector<std::pair<std::string, std::string>>& tags);

// Content headers, metadata, tags and storage class of a new object, from the request.
Outcome<ObjectRecord> record_from_params(const nlohmann::json& p);

// A result rendered as an XML document with the root element S3 uses (ListBucketResult, ...).
protocol::OperationOutput xml_output(nlohmann::json result, const char* root);

// The parameters every listing shares, and the common prefix a key rolls up into ("" for none).
struct ListParams {
  std::string prefix;
  std::string delimiter;
  bool url = false;     // encoding-type=url
  int64_t max = 1000;   // capped at 1000
  std::string rollup(const std::string& key) const;
  // Fills prefix, delimiter, encoding and `max_member` (MaxKeys, MaxUploads) from the params.
  static Outcome<ListParams> from(const nlohmann::json& params, const char* max_member, const char* max_name);
  // Prefix, Delimiter, MaxKeys-like and EncodingType members of the result.
  void describe(nlohmann::json& result, const char* max_member) const;
};

// A key as listings show it (encoding-type=url percent-encodes).
std::string shown(const std::string& text, bool url);

// Checks an object key: not empty, at most 1024 bytes.
std::optional<ServiceError> check_key(const std::string& key);

// Builds the byte-range [start, start+length) a "bytes=..." header asks for within size;
// nullopt when the header is absent or not a single valid range (S3 then sends the whole object);
// status 416 when unsatisfiable.
struct ByteRange {
  uint64_t start = 0;
  uint64_t length = 0;
  bool unsatisfiable = false;
};
std::optional<ByteRange> parse_range(std::string_view header, uint64_t size);

}  // namespace sless::services::s3
