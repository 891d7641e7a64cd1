// Helpers shared by the Lambda service's files (not an interface of the service).
#pragma once

#include <memory>
#include <string>

#include "core/service_error.h"
#include "core/time_format.h"
#include "host/launcher.h"
#include "host/watcher.h"
#include "services/lambda/lambda.h"

namespace sless::services::lambda {

// CreateFunction with Code.S3Bucket = this reads Code.S3Key as a local path and hot-reloads it.
inline constexpr const char* kHotReloadBucket = "hot-reload";

// Runtimes sless runs (C++ plugins behave as custom runtimes).
inline bool supported_runtime(const std::string& r) {
  return r == "provided.al2023" || r == "provided.al2" || r == "provided";
}

// A function reference as Lambda accepts it: a name, a partial ARN, or an ARN, each optionally
// qualified (my-fn, my-fn:live, 123456789012:function:my-fn, arn:aws:lambda:...:function:my-fn:2).
struct FunctionRef {
  bool valid = false;
  std::string account;
  std::string region;
  std::string name;
  std::string qualifier;
};
FunctionRef parse_function_ref(const std::string& text);

std::string function_arn(const std::string& region, const std::string& account, const std::string& name);
ServiceError function_not_found(const std::string& arn);
ServiceError invalid_parameter(std::string message);
// Lambda's timestamp format: 2024-05-01T12:34:56.789+0000
std::string lambda_timestamp(int64_t epoch_ms);

struct LambdaService::Resolved {
  std::shared_ptr<Function> function;
  std::string version;       // "$LATEST" or a version number
  std::string alias;         // when invoked through an alias
  std::string invoked_arn;   // as called, qualified when a qualifier was used
  std::shared_ptr<const host::FunctionConfig> config;
};

}  // namespace sless::services::lambda
