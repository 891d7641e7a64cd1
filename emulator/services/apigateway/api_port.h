// The handler of an API's own port (`sless up --api-port`, 3000 by default): every request on
// that listener goes to one API's stage, whole path, as `sam local start-api` serves it. Called
// on the server's io threads; holds no state of its own.
#pragma once

#include <string>

#include "http/server.h"

namespace sless::services::apigateway {

class ApiGatewayService;

class ApiPortHandler final : public http::Handler {
 public:
  ApiPortHandler(ApiGatewayService& service, std::string api_id, std::string stage)
      : service_(service), api_id_(std::move(api_id)), stage_(std::move(stage)) {}

  bool wants_stream(const http::Request&) override { return false; }
  void handle(http::Request request, Respond respond) override;
  http::Response reject(int status, std::string_view reason) override;

  const std::string& api_id() const { return api_id_; }
  const std::string& stage() const { return stage_; }

 private:
  ApiGatewayService& service_;
  std::string api_id_;
  std::string stage_;
};

}  // namespace sless::services::apigateway
