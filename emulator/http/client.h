// A small blocking HTTP/1.1 client for plain http:// URLs on loopback or the local network:
// `sless status`, webhook deliveries run off the io threads, and tests. Thread-safe (no shared
// state); each call opens its own connection.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace sless::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http://host:port/path?query
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
};

Result<Response> fetch(const ClientRequest& request);

}  // namespace sless::http
