// The sless C++ function SDK: write a handler with the shape of aws-lambda-cpp, export it with
// SLESS_HANDLER, and call the emulated AWS services in-process with the JSON of their APIs.
//
//   #include <sless/function.hpp>
//
//   sless::invocation_response hello(const sless::invocation_request& req) {
//     auto event = sless::json_text::parse(req.payload);  // nlohmann::json, or discarded if not JSON
//     return sless::invocation_response::success(nlohmann::json{{"hello", event["name"]}}.dump());
//   }
//   SLESS_HANDLER(hello)   // Handler: hello
//
// Threads: the host calls handlers one at a time per process; the clients below may be used
// only during a handler call (on its thread). Header-only apart from the plugin entry point that
// sless_add_function() compiles in (functions/sdk/plugin_entry.cpp).
#ifndef SLESS_FUNCTION_HPP
#define SLESS_FUNCTION_HPP

#include <chrono>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sless/function_abi.h"
#include "sless/json_text.hpp"

namespace sless {

inline constexpr const char* kSdkVersion = "0.1.0";

namespace detail {
// The invocation running on this thread, set by the trampoline for the handler's duration.
inline thread_local const sless_invocation* current = nullptr;
inline std::string_view view(sless_buffer b) { return b.ptr ? std::string_view(b.ptr, b.len) : std::string_view(); }
inline sless_buffer buf(std::string_view s) { return sless_buffer{s.data(), s.size()}; }
}  // namespace detail

// Writes a line to the function's log (CloudWatch Logs /aws/lambda/<name>). Lines written to
// stdout and stderr end up there too.
inline void log(std::string_view line) {
  if (const sless_invocation* inv = detail::current) inv->host->log(inv->host->host_ctx, detail::buf(line));
}

struct invocation_request {
  std::string payload;
  std::string request_id;
  std::string function_arn;
  std::string function_name;
  std::string function_version;
  std::string log_group_name;
  std::string log_stream_name;
  std::string client_context;
  std::string cognito_identity;
  std::string xray_trace_id;
  std::chrono::system_clock::time_point deadline;
  int memory_limit_mb = 0;

  // Time left before the function times out.
  std::chrono::milliseconds get_time_remaining() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::system_clock::now());
  }
};

class invocation_response {
 public:
  // A result; `payload` is what Invoke returns (JSON by convention).
  static invocation_response success(std::string payload, std::string content_type = "application/json") {
    return invocation_response(false, std::move(payload), {}, std::move(content_type));
  }
  // A function error: Invoke answers with X-Amz-Function-Error: Unhandled and
  // {"errorMessage": message, "errorType": type}.
  static invocation_response failure(std::string message, std::string type) {
    return invocation_response(true, std::move(message), std::move(type), "application/json");
  }

  bool is_success() const { return !error_; }
  const std::string& payload() const { return payload_; }
  const std::string& error_type() const { return error_type_; }
  const std::string& content_type() const { return content_type_; }

 private:
  invocation_response(bool error, std::string payload, std::string type, std::string ctype)
      : error_(error), payload_(std::move(payload)), error_type_(std::move(type)), content_type_(std::move(ctype)) {}
  bool error_;
  std::string payload_;
  std::string error_type_;
  std::string content_type_;
};

// The outcome of a service call: the result JSON, or the AWS error.
struct service_outcome {
  bool ok = false;
  nlohmann::json result;        // the operation's output, or the error's fields
  std::string error_code;       // "ConditionalCheckFailedException", ...
  std::string error_message;

  explicit operator bool() const { return ok; }
};

// A client of one emulated AWS API. `service` is its model name ("dynamodb", "s3", "sqs",
// "sns", "kinesis", "lambda", "dynamodbstreams", "stepfunctions", "events", "cognito-idp",
// "kms", "logs"); requests and results are the JSON of the AWS API.
class service_client {
 public:
  explicit service_client(std::string service) : service_(std::move(service)) {}

  service_outcome call(std::string_view operation, const nlohmann::json& request = nlohmann::json::object()) const {
    service_outcome out;
    const sless_invocation* inv = detail::current;
    if (!inv) {
      out.error_code = "HostUnavailable";
      out.error_message = "service clients work only while a handler runs";
      return out;
    }
    std::string body = request.dump();
    sless_buffer response{nullptr, 0}, code{nullptr, 0}, message{nullptr, 0};
    sless_status st = inv->host->call_service(inv->host->host_ctx, detail::buf(service_), detail::buf(operation),
                                              detail::buf(body), &response, &code, &message);
    std::string_view text = detail::view(response);
    out.result = text.empty() ? nlohmann::json::object() : json_text::parse(text);
    out.ok = st == SLESS_OK;
    if (!out.ok) {
      out.error_code = st == SLESS_SERVICE_ERROR ? std::string(detail::view(code)) : "HostError";
      out.error_message = std::string(detail::view(message));
    }
    return out;
  }

 private:
  std::string service_;
};

inline service_client dynamodb() { return service_client("dynamodb"); }
inline service_client dynamodb_streams() { return service_client("dynamodbstreams"); }
inline service_client s3() { return service_client("s3"); }
inline service_client sqs() { return service_client("sqs"); }
inline service_client sns() { return service_client("sns"); }
inline service_client kinesis() { return service_client("kinesis"); }
inline service_client lambda() { return service_client("lambda"); }
inline service_client stepfunctions() { return service_client("stepfunctions"); }
inline service_client events() { return service_client("events"); }
inline service_client cognito_idp() { return service_client("cognito-idp"); }
inline service_client kms() { return service_client("kms"); }
inline service_client logs() { return service_client("logs"); }

using handler_fn = invocation_response (*)(const invocation_request&);

namespace detail {

inline std::vector<sless_handler>& handler_table() {
  static std::vector<sless_handler> table;
  return table;
}

struct response_storage {
  std::string payload;
  std::string error_type;
  std::string content_type;
};

inline void release_response(void* ctx) { delete static_cast<response_storage*>(ctx); }

inline int32_t fill(sless_response* out, bool error, std::string payload, std::string type, std::string ctype) {
  auto* s = new response_storage{std::move(payload), std::move(type), std::move(ctype)};
  out->is_error = error ? 1 : 0;
  out->payload = buf(s->payload);
  out->error_type = buf(s->error_type);
  out->content_type = buf(s->content_type);
  out->release = &release_response;
  out->release_ctx = s;
  return 0;
}

// Runs a user handler: builds the request, catches everything, fills the C response.
inline int32_t trampoline(handler_fn fn, const sless_invocation* inv, sless_response* out) {
  struct Scope {
    explicit Scope(const sless_invocation* i) { current = i; }
    ~Scope() { current = nullptr; }
  } scope(inv);
  try {
    invocation_request req;
    req.payload = std::string(view(inv->payload));
    req.request_id = std::string(view(inv->request_id));
    req.function_arn = std::string(view(inv->function_arn));
    req.function_name = std::string(view(inv->function_name));
    req.function_version = std::string(view(inv->function_version));
    req.log_group_name = std::string(view(inv->log_group_name));
    req.log_stream_name = std::string(view(inv->log_stream_name));
    req.client_context = std::string(view(inv->client_context));
    req.cognito_identity = std::string(view(inv->cognito_identity));
    req.xray_trace_id = std::string(view(inv->xray_trace_id));
    req.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(inv->deadline_ms));
    req.memory_limit_mb = inv->memory_limit_mb;
    invocation_response res = fn(req);
    return fill(out, !res.is_success(), res.payload(), res.error_type(), res.content_type());
  } catch (const std::bad_alloc&) {
    // Over MemorySize: reported as Lambda reports it; the host then replaces this process.
    return fill(out, true, "RequestId: " + std::string(view(inv->request_id)) +
                               " Error: Runtime exited with error: signal: killed",
                "Runtime.OutOfMemory", "application/json");
  } catch (const std::exception& e) {
    return fill(out, true, e.what(), "std::exception", "application/json");
  } catch (...) {
    return fill(out, true, "unknown exception", "UnknownException", "application/json");
  }
}

template <handler_fn Fn>
int32_t exported(const sless_invocation* inv, sless_response* out) {
  return trampoline(Fn, inv, out);
}

struct registrar {
  registrar(const char* name, sless_handler_fn c_fn) { handler_table().push_back(sless_handler{name, c_fn}); }
};

}  // namespace detail
}  // namespace sless

// Exports `fn` as a handler named after it (the function's Handler setting).
#define SLESS_HANDLER(fn) SLESS_HANDLER_NAMED(#fn, fn)
// Exports `fn` under another handler name.
#define SLESS_HANDLER_NAMED(name, fn)                                                             \
  static ::sless::detail::registrar sless_registrar_##fn{name, &::sless::detail::exported<&fn>};

#endif  // SLESS_FUNCTION_HPP
