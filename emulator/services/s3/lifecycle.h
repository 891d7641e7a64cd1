// Bucket lifecycle configuration: validation of what PutBucketLifecycleConfiguration stores, and
// the expiry arithmetic the provider's periodic sweep applies (object expiration, noncurrent
// version expiration, expired delete markers, incomplete multipart uploads).
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/service_error.h"

namespace sless::services::s3 {

std::optional<ServiceError> validate_lifecycle(const nlohmann::json& config);

// Whether an enabled rule's filter (Prefix, Tag, size bounds, And) selects the object.
bool lifecycle_rule_applies(const nlohmann::json& rule, const std::string& key,
                            const std::vector<std::pair<std::string, std::string>>& tags, uint64_t size);

// When a current object created at `created_ms` expires under `rule` (Expiration Days, rounded up
// to the next midnight UTC, or Date); nullopt when the rule does not expire current objects.
std::optional<int64_t> lifecycle_expiry(const nlohmann::json& rule, int64_t created_ms);
// When a version that became noncurrent at `noncurrent_since_ms` expires (NoncurrentDays).
std::optional<int64_t> lifecycle_noncurrent_expiry(const nlohmann::json& rule, int64_t noncurrent_since_ms);
// When an upload initiated at `initiated_ms` is aborted (AbortIncompleteMultipartUpload).
std::optional<int64_t> lifecycle_abort_time(const nlohmann::json& rule, int64_t initiated_ms);
bool lifecycle_removes_expired_markers(const nlohmann::json& rule);

}  // namespace sless::services::s3
