#include "core/status.h"

#include "core/service_error.h"

namespace sless {

std::string Status::to_string() const {
  const char* name = "OK";
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kNotFound: name = "NotFound"; break;
    case Code::kInvalidArgument: name = "InvalidArgument"; break;
    case Code::kCorruption: name = "Corruption"; break;
    case Code::kIOError: name = "IOError"; break;
    case Code::kBusy: name = "Busy"; break;
    case Code::kAborted: name = "Aborted"; break;
    case Code::kInternal: name = "Internal"; break;
  }
  return message_.empty() ? std::string(name) : std::string(name) + ": " + message_;
}

ServiceError ServiceError::not_implemented(std::string_view service, std::string_view op) {
  std::string msg = "not implemented: ";
  msg.append(service).append(".").append(op);
  return ServiceError("NotImplemented", std::move(msg), 501, false);
}

}  // namespace sless
