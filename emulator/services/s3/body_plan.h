// What a request says about the body it carries (declared length, Content-MD5, flexible
// checksums in headers or trailers) and the check of an ingested body against it. Shared by
// PutObject, UploadPart and POST uploads. Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "http/message.h"
#include "services/s3/checksums.h"
#include "services/s3/ingest.h"

namespace sless::services::s3 {

struct BodyPlan {
  std::vector<ChecksumAlgorithm> algorithms;  // to compute besides MD5
  ChecksumAlgorithm primary = ChecksumAlgorithm::kNone;  // the one stored with the object
  std::string content_md5;                    // base64, as sent
  std::optional<uint64_t> declared_length;
};

// `params` is the operation's params tree (ChecksumAlgorithm, Checksum*, ContentMD5 members).
Outcome<BodyPlan> plan_body(const nlohmann::json& params, const http::Request& request);

// Checks a finished ingest against the plan; on success sets *checksum to the base64 value of the
// primary algorithm (empty without one).
std::optional<ServiceError> verify_body(const BodyPlan& plan, const nlohmann::json& params,
                                        const http::Request& request, const Ingest& ingest, std::string* checksum);

// A request's declared body length exceeds `max`: S3's EntityTooLarge.
ServiceError entity_too_large(uint64_t proposed, uint64_t max);

}  // namespace sless::services::s3
