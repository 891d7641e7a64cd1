// Pollers of event sources. Each source service exposes an in-process reading API; the runner
// for a service exists once that API does.
#include "services/lambda/event_sources.h"

namespace sless::services::lambda {

bool runner_supported(const std::string&) { return false; }

std::unique_ptr<SourceRunner> make_runner(LambdaService&, Env&, const nlohmann::json&) { return nullptr; }

}  // namespace sless::services::lambda
