// Connections between services that neither owns: S3 bucket notifications to queues, topics,
// functions and EventBridge; SNS `lambda` subscriptions to the function host. Made once by the
// daemon after every service started, before the first request.
#pragma once

#include "core/status.h"

namespace sless::services {

class Registry;
struct Env;

Status connect_services(Registry& registry, Env& env);

}  // namespace sless::services
