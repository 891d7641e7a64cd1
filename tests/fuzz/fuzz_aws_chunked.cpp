// fuzz_aws_chunked: http::AwsChunkedDecoder and the streaming reader built on it. An input is
//
//   <n byte> (<u16 split>){n % 16} BODY
//
// BODY is decoded three ways: fed in one piece, fed in the pieces the split points make, and
// pulled through decode_aws_chunked() from a reader that hands out those pieces. All three must
// agree on the payload, the trailers and the verdict. A body that decodes must decode to the
// same payload and trailers again once re-encoded as a single chunk.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_target.h"
#include "http/aws_chunked.h"
#include "http/message.h"

namespace {

using namespace sless;

struct Decoded {
  bool ok = true;
  bool done = false;
  std::string payload;
  std::vector<http::Headers::Entry> trailers;
};

Decoded decode(const std::vector<std::string_view>& pieces) {
  http::AwsChunkedDecoder decoder;
  Decoded d;
  for (auto piece : pieces) {
    bool ok = decoder.feed(piece, d.payload);
    // Once malformed, always malformed.
    FUZZ_CHECK(d.ok || !ok);
    d.ok = ok;
    FUZZ_CHECK(ok || !decoder.error().empty());
  }
  d.done = decoder.done();
  FUZZ_CHECK(!(d.done && !d.ok));
  d.trailers = decoder.trailers().entries();
  return d;
}

// A streamed body that hands out fixed pieces, then the end.
class PieceReader final : public http::BodyReader {
 public:
  explicit PieceReader(std::vector<std::string_view> pieces) : pieces_(std::move(pieces)) {}
  void read(ChunkHandler handler) override {
    // The server never hands out empty chunks before the end.
    while (next_ < pieces_.size() && pieces_[next_].empty()) ++next_;
    if (next_ == pieces_.size()) {
      handler(true, {});
      return;
    }
    handler(true, pieces_[next_++]);
  }
  std::optional<uint64_t> content_length() const override { return std::nullopt; }

 private:
  std::vector<std::string_view> pieces_;
  size_t next_ = 0;
};

// Pulls the whole stream: ok when it ended cleanly.
Decoded pull(const std::vector<std::string_view>& pieces) {
  auto trailers = std::make_shared<http::Headers>();
  auto reader = http::decode_aws_chunked(std::make_shared<PieceReader>(pieces), trailers);
  Decoded d;
  bool finished = false;
  for (size_t reads = 0; !finished; ++reads) {
    FUZZ_CHECK(reads <= pieces.size() + 1);
    bool called = false;
    reader->read([&](bool ok, std::string_view chunk) {
      called = true;
      if (!ok) {
        d.ok = false;
        finished = true;
      } else if (chunk.empty()) {
        finished = true;
      } else {
        d.payload.append(chunk);
      }
    });
    FUZZ_CHECK(called);  // the pieces are all there: every read answers at once
  }
  d.done = d.ok;
  d.trailers = trailers->entries();
  return d;
}

}  // namespace

SLESS_FUZZ_TARGET(aws_chunked) {
  fuzz::Input in(data, size);
  size_t n = in.byte() % 16;
  std::vector<size_t> cuts;
  for (size_t i = 0; i < n; ++i) cuts.push_back(in.u16());
  std::string_view body = in.rest();
  for (auto& c : cuts) c %= body.size() + 1;
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string_view> pieces;
  size_t at = 0;
  for (size_t c : cuts) {
    pieces.push_back(body.substr(at, c - at));
    at = c;
  }
  pieces.push_back(body.substr(at));

  Decoded whole = decode({body});
  Decoded split = decode(pieces);
  FUZZ_CHECK(whole.ok == split.ok);
  FUZZ_CHECK(whole.done == split.done);
  FUZZ_CHECK(whole.payload == split.payload);
  FUZZ_CHECK(whole.trailers == split.trailers);

  // The stream succeeds exactly when the framing ends; it stops reading at the end of the framing.
  Decoded streamed = pull(pieces);
  FUZZ_CHECK(streamed.ok == whole.done);
  if (whole.done) {
    FUZZ_CHECK(streamed.payload == whole.payload);
    FUZZ_CHECK(streamed.trailers == whole.trailers);
  }

  if (whole.done) {
    std::string encoded;
    if (!whole.payload.empty()) {
      char size_line[32];
      std::snprintf(size_line, sizeof size_line, "%zx\r\n", whole.payload.size());
      encoded.append(size_line).append(whole.payload).append("\r\n");
    }
    encoded.append("0\r\n");
    for (const auto& [k, v] : whole.trailers) encoded.append(k).append(":").append(v).append("\r\n");
    encoded.append("\r\n");
    Decoded again = decode({encoded});
    FUZZ_CHECK(again.done);
    FUZZ_CHECK(again.payload == whole.payload);
    FUZZ_CHECK(again.trailers == whole.trailers);
  }
  return 0;
}
