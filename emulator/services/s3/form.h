// A streaming multipart/form-data parser (RFC 7578) for browser POST uploads: fields are small
// and collected whole; the file part's bytes are handed on as they arrive, so a large upload
// never sits in memory. One parser per request; not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace sless::services::s3 {

class FormParser {
 public:
  struct PartHead {
    std::string name;
    std::string filename;
    std::string content_type;
    bool is_file = false;  // has a filename
  };
  // on_begin may return false to stop parsing (e.g. a policy check failed).
  std::function<bool(const PartHead&)> on_begin;
  std::function<bool(std::string_view data)> on_data;
  std::function<bool()> on_end;

  explicit FormParser(std::string boundary);
  // False once the input is malformed or a callback stopped it; error() says why.
  bool feed(std::string_view data);
  bool done() const { return state_ == State::kDone; }
  const std::string& error() const { return error_; }

  // The boundary parameter of a multipart/form-data Content-Type, or "".
  static std::string boundary_of(std::string_view content_type);

 private:
  enum class State { kData, kAfterDelimiter, kHeaders, kDone, kError };
  bool fail(std::string why);
  bool parse_headers(std::string_view block);

  std::string delimiter_;
  std::string buf_;
  State state_ = State::kData;
  bool in_part_ = false;
  std::string error_;
};

}  // namespace sless::services::s3
