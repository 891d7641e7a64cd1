#include "services/apigateway/api_port.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "services/apigateway/apigateway.h"

namespace sless::services::apigateway {

void ApiPortHandler::handle(http::Request request, Respond respond) {
  ServeOptions options;
  options.stage = stage_;
  if (!log::enabled(log::Level::kInfo)) {
    service_.serve(api_id_, std::move(request), options, std::move(respond));
    return;
  }
  auto start = std::chrono::steady_clock::now();
  std::string line = request.method + " " + request.target;
  service_.serve(api_id_, std::move(request), options,
                 [start, line = std::move(line), respond = std::move(respond), id = api_id_](http::Response res) {
                   auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                                   start).count();
                   log::info("{} {} api {} {}.{}ms", line, res.status, id, us / 1000, (us % 1000) / 100);
                   respond(std::move(res));
                 });
}

http::Response ApiPortHandler::reject(int status, std::string_view reason) {
  http::Response r;
  r.status = status;
  r.headers.add("Content-Type", "application/json");
  r.body = nlohmann::json{{"message", status == 413 ? "Request Entity Too Large" : std::string(reason)}}.dump();
  r.close = true;
  return r;
}

}  // namespace sless::services::apigateway
