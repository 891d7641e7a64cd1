// ServiceError: an AWS error as a provider reports it; the protocol layer renders it in the
// wire shape of the service's protocol. Outcome<T>: a result or a ServiceError.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace sless {

struct ServiceError {
  // The error's shape name in the service's model ("ResourceNotFoundException",
  // "QueueDoesNotExist", "NoSuchKey"). Protocols that carry a different wire code (SQS's query
  // codes) take it from the model's error shape.
  std::string code;
  std::string message;
  int http_status = 400;
  bool sender_fault = true;
  // Further members of the error shape (S3's Key/BucketName, DynamoDB's CancellationReasons).
  nlohmann::json fields = nlohmann::json::object();
  // Extra response headers (S3's x-amz-delete-marker on a 404, Retry-After, ...).
  std::vector<std::pair<std::string, std::string>> headers;

  ServiceError() = default;
  ServiceError(std::string c, std::string m, int status = 400, bool sender = true)
      : code(std::move(c)), message(std::move(m)), http_status(status), sender_fault(sender) {}

  ServiceError&& with(std::string key, nlohmann::json value) && {
    fields[std::move(key)] = std::move(value);
    return std::move(*this);
  }

  // Common errors of every protocol.
  static ServiceError validation(std::string message) {
    return ServiceError("ValidationException", std::move(message), 400);
  }
  static ServiceError internal(std::string message) {
    return ServiceError("InternalFailure", std::move(message), 500, false);
  }
  static ServiceError not_implemented(std::string_view service, std::string_view op);
};

template <class T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}                  // NOLINT(google-explicit-constructor)
  Outcome(ServiceError error) : v_(std::move(error)) {}       // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  ServiceError& error() & { return std::get<1>(v_); }
  const ServiceError& error() const& { return std::get<1>(v_); }
  ServiceError&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, ServiceError> v_;
};

}  // namespace sless
