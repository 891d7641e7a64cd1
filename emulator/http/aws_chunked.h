// aws-chunked: the Content-Encoding that S3 SDKs use for streaming uploads (SigV4 signed chunks
// and/or trailing checksums). The decoder is incremental, so a streamed upload never needs the
// whole body in memory. Chunk signatures are parsed but not verified (sless checks no
// signatures). One decoder per body; not thread-safe.
//
//   <hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n ... 0[;chunk-signature=<sig>]\r\n
//   [<trailer name>:<value>\r\n ...]\r\n
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/message.h"

namespace sless::http {

class AwsChunkedDecoder {
 public:
  // Decodes `in`, appending payload bytes to `out`. False once the input is malformed (then
  // error() says why); bytes after the final empty line are ignored.
  bool feed(std::string_view in, std::string& out);
  bool done() const { return state_ == State::kDone; }
  const std::string& error() const { return error_; }
  // Trailing headers (x-amz-checksum-crc32, ...), complete once done().
  const Headers& trailers() const { return trailers_; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone, kError };
  bool fail(std::string why);
  State state_ = State::kSize;
  std::string line_;
  uint64_t remaining_ = 0;
  Headers trailers_;
  std::string error_;
};

// True when a request's body is aws-chunked (Content-Encoding or x-amz-content-sha256 says so).
bool is_aws_chunked(const Headers& headers);
// Removes "aws-chunked" from Content-Encoding (dropping the header when nothing else remains).
void strip_aws_chunked_encoding(Headers& headers);

// Wraps a streamed body, decoding aws-chunked on the fly. Trailers are appended to `trailers`
// when the stream ends.
std::shared_ptr<BodyReader> decode_aws_chunked(std::shared_ptr<BodyReader> inner, std::shared_ptr<Headers> trailers);

}  // namespace sless::http
