// Service resolution: which API a request is for, decided in one function from the request
// head (and, for form-encoded query requests, the Action in the body). Pure; any thread.
//
// Order: internal paths (/_sless/), X-Amz-Target prefix, SigV4 credential scope, path rules
// (/2015-03-31/..., /v2/..., /<account>/<queue>), Host (virtual-hosted S3, execute-api,
// <service>.<region> hosts), form Action, and S3 last.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace sless::gateway {

enum class Target {
  kService,      // an AWS API: `model` names its model
  kInternal,     // /_sless/...
  kExecuteApi,   // an API Gateway stage invoked through execute-api
};

struct Resolution {
  Target target = Target::kService;
  std::string model;    // "dynamodb", "sqs", "sqs-query", "s3", ...
  std::string bucket;   // S3 virtual-hosted style: the bucket named by the Host
  std::string api_id;   // execute-api: the API id
  const char* rule = "";  // which rule decided (for tests and debug logs)
};

// The parts of a SigV4 credential scope (Authorization header or X-Amz-Credential query).
struct Credential {
  std::string access_key;
  std::string date;
  std::string region;
  std::string service;
};
std::optional<Credential> credential_scope(const http::Request& r);
// The access key id of a SigV2-signed request: "Authorization: AWS <key>:<sig>" or the
// AWSAccessKeyId query parameter of a SigV2 presigned URL (what boto3 makes for S3 by default).
std::optional<std::string> sigv2_access_key(const http::Request& r);

Resolution resolve(const http::Request& r);

}  // namespace sless::gateway
