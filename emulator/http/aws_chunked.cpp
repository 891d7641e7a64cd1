#include "http/aws_chunked.h"

#include <algorithm>

#include "core/encoding.h"

namespace sless::http {

bool AwsChunkedDecoder::fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
  return false;
}

bool AwsChunkedDecoder::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    switch (state_) {
      case State::kError:
        return false;
      case State::kDone:
        return true;
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        out.append(in.data(), n);
        in.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kSize:
      case State::kDataEnd:
      case State::kTrailer: {
        auto nl = in.find('\n');
        line_.append(in.substr(0, nl));
        if (line_.size() > 8192) return fail("aws-chunked line too long");
        if (nl == std::string_view::npos) return true;
        in.remove_prefix(nl + 1);
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        std::string line = std::move(line_);
        line_.clear();
        if (state_ == State::kDataEnd) {
          if (!line.empty()) return fail("aws-chunked chunk not followed by CRLF");
          state_ = State::kSize;
        } else if (state_ == State::kSize) {
          std::string_view size = std::string_view(line).substr(0, line.find(';'));
          while (!size.empty() && size.back() == ' ') size.remove_suffix(1);
          if (size.empty() || size.size() > 15) return fail("aws-chunked chunk size is malformed");
          uint64_t v = 0;
          for (char c : size) {
            int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
            if (d < 0) return fail("aws-chunked chunk size is malformed");
            v = v * 16 + static_cast<uint64_t>(d);
          }
          remaining_ = v;
          state_ = v == 0 ? State::kTrailer : State::kData;
        } else {  // kTrailer
          if (line.empty()) {
            state_ = State::kDone;
            return true;
          }
          auto colon = line.find(':');
          if (colon == std::string::npos) return fail("aws-chunked trailer is malformed");
          std::string name = enc::to_lower(line.substr(0, colon));
          std::string value = line.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.erase(0, 1);
          if (name != "x-amz-trailer-signature") trailers_.add(std::move(name), std::move(value));
        }
        break;
      }
    }
  }
  return state_ != State::kError;
}

bool is_aws_chunked(const Headers& h) {
  if (auto ce = h.get("content-encoding"); ce && ce->find("aws-chunked") != std::string_view::npos) return true;
  if (auto sha = h.get("x-amz-content-sha256"); sha && enc::starts_with(*sha, "STREAMING-")) return true;
  return false;
}

void strip_aws_chunked_encoding(Headers& h) {
  auto ce = h.get("content-encoding");
  if (!ce) return;
  std::string kept;
  std::string_view rest = *ce;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty() && part != "aws-chunked") {
      if (!kept.empty()) kept += ",";
      kept.append(part);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (kept.empty()) {
    h.remove("content-encoding");
  } else {
    h.set("Content-Encoding", std::move(kept));
  }
}

namespace {

class DecodingReader final : public BodyReader, public std::enable_shared_from_this<DecodingReader> {
 public:
  DecodingReader(std::shared_ptr<BodyReader> inner, std::shared_ptr<Headers> trailers)
      : inner_(std::move(inner)), trailers_(std::move(trailers)) {}

  void read(ChunkHandler handler) override {
    if (decoder_.done()) {
      handler(true, {});
      return;
    }
    inner_->read([self = shared_from_this(), handler = std::move(handler)](bool ok, std::string_view chunk) mutable {
      if (!ok) {
        handler(false, {});
        return;
      }
      if (chunk.empty()) {
        // The transport ended: fine only if the aws-chunked framing ended too.
        handler(self->decoder_.done(), {});
        return;
      }
      self->out_.clear();
      if (!self->decoder_.feed(chunk, self->out_)) {
        handler(false, {});
        return;
      }
      if (self->decoder_.done() && self->trailers_) {
        for (const auto& [k, v] : self->decoder_.trailers().entries()) self->trailers_->add(k, v);
      }
      if (self->out_.empty() && !self->decoder_.done()) {
        self->read(std::move(handler));
        return;
      }
      handler(true, self->out_);
    });
  }

  std::optional<uint64_t> content_length() const override { return std::nullopt; }

 private:
  std::shared_ptr<BodyReader> inner_;
  std::shared_ptr<Headers> trailers_;
  AwsChunkedDecoder decoder_;
  std::string out_;
};

}  // namespace

std::shared_ptr<BodyReader> decode_aws_chunked(std::shared_ptr<BodyReader> inner, std::shared_ptr<Headers> trailers) {
  return std::make_shared<DecodingReader>(std::move(inner), std::move(trailers));
}

}  // namespace sless::http
