#include "services/s3/form.h"

#include "core/encoding.h"

namespace sless::services::s3 {

namespace {

// The value of `param` in a header like `form-data; name="key"; filename="a.jpg"`.
std::string header_param(std::string_view header, std::string_view param) {
  size_t pos = 0;
  while ((pos = header.find(param, pos)) != std::string_view::npos) {
    bool start_ok = pos == 0 || header[pos - 1] == ' ' || header[pos - 1] == ';';
    size_t eq = pos + param.size();
    if (start_ok && eq < header.size() && header[eq] == '=') {
      std::string_view rest = header.substr(eq + 1);
      if (!rest.empty() && rest.front() == '"') {
        std::string out;
        for (size_t i = 1; i < rest.size(); ++i) {
          if (rest[i] == '\\' && i + 1 < rest.size()) {
            out.push_back(rest[++i]);
          } else if (rest[i] == '"') {
            break;
          } else {
            out.push_back(rest[i]);
          }
        }
        return out;
      }
      return std::string(rest.substr(0, rest.find(';')));
    }
    pos = eq;
  }
  return {};
}

}  // namespace

FormParser::FormParser(std::string boundary) : delimiter_("\r\n--" + boundary), buf_("\r\n") {}

std::string FormParser::boundary_of(std::string_view ct) {
  if (!enc::starts_with(enc::to_lower(ct.substr(0, 19)), "multipart/form-data")) return {};
  return header_param(ct, "boundary");
}

bool FormParser::fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
  return false;
}

bool FormParser::parse_headers(std::string_view block) {
  PartHead head;
  bool disposition = false;
  while (!block.empty()) {
    auto nl = block.find("\r\n");
    std::string_view line = block.substr(0, nl);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name = enc::to_lower(line.substr(0, colon));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (name == "content-disposition") {
        disposition = true;
        head.name = header_param(value, "name");
        if (value.find("filename=") != std::string_view::npos) {
          head.is_file = true;
          head.filename = header_param(value, "filename");
        }
      } else if (name == "content-type") {
        head.content_type = std::string(value);
      }
    }
    if (nl == std::string_view::npos) break;
    block.remove_prefix(nl + 2);
  }
  if (!disposition) return fail("a form part has no Content-Disposition");
  in_part_ = true;
  if (on_begin && !on_begin(head)) return fail("stopped");
  return true;
}

bool FormParser::feed(std::string_view data) {
  if (state_ == State::kError) return false;
  if (state_ == State::kDone) return true;
  buf_.append(data);
  size_t pos = 0;
  while (true) {
    std::string_view view = std::string_view(buf_).substr(pos);
    if (state_ == State::kData) {
      auto d = view.find(delimiter_);
      if (d == std::string_view::npos) {
        size_t keep = delimiter_.size() - 1;
        if (view.size() > keep) {
          size_t emit = view.size() - keep;
          if (in_part_ && on_data && !on_data(view.substr(0, emit))) return fail("stopped");
          pos += emit;
        }
        break;
      }
      if (in_part_) {
        if (on_data && d > 0 && !on_data(view.substr(0, d))) return fail("stopped");
        in_part_ = false;
        if (on_end && !on_end()) return fail("stopped");
      }
      pos += d + delimiter_.size();
      state_ = State::kAfterDelimiter;
    } else if (state_ == State::kAfterDelimiter) {
      if (view.size() < 2) break;
      if (view.substr(0, 2) == "--") {
        state_ = State::kDone;
        buf_.clear();
        return true;
      }
      // Transport padding may follow the delimiter before its CRLF.
      auto nl = view.find("\r\n");
      if (nl == std::string_view::npos) {
        if (view.size() > 256) return fail("malformed multipart delimiter line");
        break;
      }
      pos += nl + 2;
      state_ = State::kHeaders;
    } else if (state_ == State::kHeaders) {
      auto end = view.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (view.size() > 16384) return fail("form part headers too long");
        if (view.substr(0, 2) == "\r\n") {  // a part without headers
          return fail("a form part has no Content-Disposition");
        }
        break;
      }
      if (!parse_headers(view.substr(0, end))) return false;
      pos += end + 4;
      state_ = State::kData;
    } else {
      break;
    }
  }
  buf_.erase(0, pos);
  return true;
}

}  // namespace sless::services::s3
