// Checks shared by the fuzz targets on what the code under test writes: a response body the
// serializers declare JSON must parse as JSON, one declared XML must be well-formed XML, one
// declared CBOR must decode.
// Stateless; any thread.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "fuzz_target.h"
#include "http/message.h"
#include "protocol/cbor.h"

namespace sless::fuzz {

inline bool well_formed_xml(std::string_view text) {
  pugi::xml_document doc;
  return static_cast<bool>(doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8));
}

// The body of a serialized response matches its Content-Type.
inline void check_response(const http::Response& res) {
  FUZZ_CHECK(res.status >= 100 && res.status <= 599);
  if (res.body.empty()) return;
  std::string_view ctype = res.headers.get_or("content-type", "");
  if (ctype.find("cbor") != std::string_view::npos) {
    FUZZ_CHECK(protocol::cbor::decode(res.body).ok());
  } else if (ctype.find("json") != std::string_view::npos) {
    FUZZ_CHECK(nlohmann::json::accept(res.body));
  } else if (ctype.find("xml") != std::string_view::npos) {
    FUZZ_CHECK(well_formed_xml(res.body));
  }
}

}  // namespace sless::fuzz
