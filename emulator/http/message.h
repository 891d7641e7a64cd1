// HTTP messages as the gateway, the protocol codecs and the services see them, free of Beast.
// A Request is owned by the one handler working on it; a Response by whoever builds it until it
// is handed to the session. Body readers and sources are used from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sless::http {

// Header list that keeps the names as received and looks them up case-insensitively.
class Headers {
 public:
  using Entry = std::pair<std::string, std::string>;

  void add(std::string name, std::string value);
  // Replaces every header of that name with one value.
  void set(std::string_view name, std::string value);
  void remove(std::string_view name);
  // First value of the header, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  std::string_view get_or(std::string_view name, std::string_view fallback) const {
    auto v = get(name);
    return v ? *v : fallback;
  }
  bool has(std::string_view name) const { return get(name).has_value(); }

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

// Pulls a request body that is streamed rather than buffered (large S3 uploads).
class BodyReader {
 public:
  // Called with the next chunk; an empty chunk with ok=true marks the end; ok=false is an error
  // (connection lost, timeout, malformed chunking) and ends the stream.
  using ChunkHandler = std::function<void(bool ok, std::string_view chunk)>;
  virtual ~BodyReader() = default;
  // Asks for the next chunk. At most one read may be outstanding. The handler runs on the
  // connection's io thread; the chunk stays valid until the next read() or the reader's end, so a
  // handler may leave it to be consumed later on that thread (S3 hashes it in a batch).
  virtual void read(ChunkHandler handler) = 0;
  // Content-Length when the client declared one.
  virtual std::optional<uint64_t> content_length() const = 0;
};

// Produces a response body piece by piece (files, large objects). Used from the session's strand.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Total size in bytes (the Content-Length sent).
  virtual uint64_t size() const = 0;
  // Copies up to `max` bytes into `buf`; returns the count, 0 at the end, -1 on error.
  virtual int64_t read(char* buf, size_t max) = 0;
};

struct Request {
  std::string method;        // "GET", "POST", ...
  std::string target;        // raw request target: path and query as sent
  Headers headers;
  std::string body;          // the whole body, unless `stream` is set
  std::shared_ptr<BodyReader> stream;
  // Trailing headers of a streamed aws-chunked body (x-amz-checksum-*), filled in when the stream
  // has ended; null otherwise (a buffered body's trailers are merged into `headers`).
  std::shared_ptr<Headers> trailers;
  std::string remote;        // peer address, for the access log
  unsigned version = 11;     // 10 or 11

  std::string_view path() const {
    std::string_view t = target;
    auto q = t.find('?');
    return q == std::string_view::npos ? t : t.substr(0, q);
  }
  std::string_view raw_query() const {
    std::string_view t = target;
    auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
  }
  std::string_view host() const { return headers.get_or("host", ""); }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  std::shared_ptr<BodySource> source;  // streamed body instead of `body`
  bool close = false;                  // close the connection after this response
};

// Decoded query parameters in order; a key without '=' has an empty value and no_value=true.
struct QueryParam {
  std::string key;
  std::string value;
  bool no_value = false;
};
std::vector<QueryParam> parse_query(std::string_view raw, bool plus_as_space = true);

// The response's status text ("OK", "Not Found", ...).
std::string_view status_text(int status);

}  // namespace sless::http
