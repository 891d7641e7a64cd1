#include "protocol/codec.h"

#include "protocol/internal.h"

namespace sless::protocol {

Outcome<ParsedRequest> parse_request(const ServiceModel& m, const http::Request& r) {
  switch (m.protocol) {
    case Protocol::kJson: return detail::parse_json(m, r);
    case Protocol::kQuery: return detail::parse_query(m, r);
    case Protocol::kRestJson:
    case Protocol::kRestXml: return detail::parse_rest(m, r);
  }
  return ServiceError::internal("unknown protocol");
}

const Operation* find_rest_operation(const ServiceModel& m, const http::Request& r) {
  return detail::route_rest(m, r, nullptr);
}

http::Response serialize_result(const ServiceModel& m, const Operation& op, OperationOutput&& out,
                                std::string_view request_id) {
  switch (m.protocol) {
    case Protocol::kJson: return detail::serialize_json_result(m, op, std::move(out));
    case Protocol::kQuery: return detail::serialize_query_result(m, op, std::move(out), request_id);
    case Protocol::kRestJson:
    case Protocol::kRestXml: return detail::serialize_rest_result(m, op, std::move(out));
  }
  return {};
}

http::Response serialize_error(const ServiceModel& m, const Operation* op, const ServiceError& e,
                               std::string_view request_id, bool head) {
  http::Response res;
  switch (m.protocol) {
    case Protocol::kJson: res = detail::serialize_json_error(m, e); break;
    case Protocol::kQuery: res = detail::serialize_query_error(m, e, request_id); break;
    case Protocol::kRestJson: res = detail::serialize_rest_json_error(m, e); break;
    case Protocol::kRestXml: res = detail::serialize_rest_xml_error(m, e, request_id); break;
  }
  if (head) res.body.clear();
  return res;
}

namespace detail {

std::string wire_error_code(const ServiceModel& m, const ServiceError& e) {
  if (const Shape* s = m.find_shape(e.code); s && s->exception && !s->error_code.empty()) {
    return s->error_code;
  }
  return e.code;
}

}  // namespace detail
}  // namespace sless::protocol
