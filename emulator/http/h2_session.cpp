// h2c connections on nghttp2 (Debian's libnghttp2): nghttp2 does the framing, HPACK, flow
// control and stream states; this file moves bytes between it and the socket and turns each
// finished request stream into one Handler::handle call. Request bodies are buffered (up to the
// server's limit); response bodies (strings or BodySources) go out through a data provider.
//
//   socket ──read──▶ nghttp2_session_mem_recv ──callbacks──▶ Stream{Request} ──END_STREAM──▶ handle()
//   socket ◀─write── nghttp2_session_mem_send ◀── nghttp2_submit_response ◀── respond (posted to the strand)
#include "http/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <chrono>
#include <cstring>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <memory>
#include <vector>

#include "core/log.h"

namespace sless::http::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Connection-specific headers that HTTP/2 forbids in a response.
bool hop_by_hop(std::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "proxy-connection" ||
         lower == "transfer-encoding" || lower == "upgrade" || lower == "content-length";
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct Stream {
  Request request;
  bool head = false;
  bool too_large = false;
  // The response body, read by the data provider.
  std::string body;
  size_t offset = 0;
  std::shared_ptr<BodySource> source;
};

class H2Session : public std::enable_shared_from_this<H2Session> {
 public:
  H2Session(tcp::socket socket, Handler& handler, H2Limits limits, std::atomic<size_t>& in_flight, std::string remote)
      : socket_(std::move(socket)),
        idle_(socket_.get_executor()),
        handler_(handler),
        limits_(limits),
        in_flight_(in_flight),
        remote_(std::move(remote)) {}

  ~H2Session() {
    if (session_) nghttp2_session_del(session_);
  }

  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  void start(const std::string& received) {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) return close();
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &H2Session::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &H2Session::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2Session::on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2Session::on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2Session::on_stream_close);
    int rv = nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) return close();
    std::array<nghttp2_settings_entry, 2> settings{{{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 128},
                                                    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20}}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 << 20);
    if (!feed(received.data(), received.size())) return close();
    flush();
    read();
  }

 private:
  static H2Session& self_of(void* user_data) { return *static_cast<H2Session*>(user_data); }

  Stream* find(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  // ---- nghttp2 callbacks (run inside feed(), on the strand) ----

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    H2Session& s = self_of(user_data);
    auto st = std::make_unique<Stream>();
    st->request.remote = s.remote_;
    st->request.version = 11;  // what the gateway and services expect of a modern request
    s.streams_[frame->hd.stream_id] = std::move(st);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Stream* st = self_of(user_data).find(frame->hd.stream_id);
    if (!st) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":method") {
      st->head = v == "HEAD";
      st->request.method = std::move(v);
    } else if (n == ":path") {
      st->request.target = std::move(v);
    } else if (n == ":authority") {
      st->request.headers.add("host", std::move(v));
    } else if (!n.empty() && n[0] != ':') {
      st->request.headers.add(std::string(n), std::move(v));
    }
    return 0;
  }

  static int on_data(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len, void* user_data) {
    H2Session& s = self_of(user_data);
    Stream* st = s.find(stream_id);
    if (!st || st->too_large) return 0;
    if (st->request.body.size() + len > s.limits_.max_body) {
      st->too_large = true;
      st->request.body.clear();
      st->request.body.shrink_to_fit();
      return 0;
    }
    st->request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    bool ends = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
    if (ends) self_of(user_data).dispatch(frame->hd.stream_id);
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
    self_of(user_data).streams_.erase(stream_id);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    auto* st = static_cast<Stream*>(source->ptr);
    if (st->source) {
      int64_t n = st->source->read(reinterpret_cast<char*>(buf), length);
      if (n < 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
      if (n == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    size_t n = std::min(length, st->body.size() - st->offset);
    std::memcpy(buf, st->body.data() + st->offset, n);
    st->offset += n;
    if (st->offset == st->body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  // ---- requests and responses ----

  void dispatch(int32_t id) {
    Stream* st = find(id);
    if (!st) return;
    if (st->too_large) {
      submit(id, handler_.reject(413, "request body too large"));
      return;
    }
    if (st->request.method.empty() || st->request.target.empty()) {
      submit(id, handler_.reject(400, "missing :method or :path"));
      return;
    }
    Request req = std::move(st->request);
    if (!req.body.empty() && !req.headers.has("content-length")) {
      req.headers.add("content-length", std::to_string(req.body.size()));
    }
    in_flight_.fetch_add(1);
    auto self = shared_from_this();
    handler_.handle(std::move(req), [self, id](Response res) {
      net::post(self->socket_.get_executor(), [self, id, res = std::move(res)]() mutable {
        self->in_flight_.fetch_sub(1);
        self->submit(id, std::move(res));
        self->flush();
      });
    });
  }

  void submit(int32_t id, Response res) {
    Stream* st = find(id);
    if (!st || closed_) return;  // the client reset the stream meanwhile
    bool bodiless = st->head || res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200);
    uint64_t length = res.source ? res.source->size() : res.body.size();
    if (st->head) {
      if (auto cl = res.headers.get("content-length")) length = std::strtoull(std::string(*cl).c_str(), nullptr, 10);
    }
    std::vector<std::pair<std::string, std::string>> fields;
    fields.reserve(res.headers.size() + 2);
    fields.emplace_back(":status", std::to_string(res.status));
    for (auto& [k, v] : res.headers.entries()) {
      std::string lower = lowercase(k);
      if (!hop_by_hop(lower)) fields.emplace_back(std::move(lower), std::move(v));
    }
    if (!(res.status == 204 || res.status == 304 || res.status < 200)) {
      fields.emplace_back("content-length", std::to_string(length));
    }
    std::vector<nghttp2_nv> nva;
    nva.reserve(fields.size());
    for (auto& [k, v] : fields) {
      nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(k.data()), reinterpret_cast<uint8_t*>(v.data()), k.size(),
                               v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    bool has_body = !bodiless && length > 0;
    if (has_body) {
      st->body = std::move(res.body);
      st->source = std::move(res.source);
      provider.source.ptr = st;
      provider.read_callback = &H2Session::read_body;
    }
    int rv = nghttp2_submit_response(session_, id, nva.data(), nva.size(), has_body ? &provider : nullptr);
    if (rv != 0) log::debug("h2: submitting the response of stream {} failed: {}", id, nghttp2_strerror(rv));
  }

  // ---- socket I/O ----

  bool feed(const char* data, size_t size) {
    ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), size);
    if (rv < 0) {
      log::debug("h2: {} from {}", nghttp2_strerror(static_cast<int>(rv)), remote_);
      return false;
    }
    return true;
  }

  void read() {
    if (closed_) return;
    idle_.expires_after(limits_.idle_timeout);
    idle_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (auto s = weak.lock(); s && !ec) s->close();
    });
    socket_.async_read_some(net::buffer(in_), [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
      if (ec || !self->feed(self->in_.data(), n)) {
        self->flush();
        self->close();
        return;
      }
      self->flush();
      self->read();
    });
  }

  void flush() {
    if (writing_ || closed_) return;
    out_.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        close();
        return;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      if (out_.size() >= 256 * 1024) break;
    }
    if (out_.empty()) {
      if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) close();
      return;
    }
    writing_ = true;
    net::async_write(socket_, net::buffer(out_), [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
      self->writing_ = false;
      if (ec) {
        self->close();
        return;
      }
      self->flush();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    idle_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  tcp::socket socket_;
  net::steady_timer idle_;
  Handler& handler_;
  H2Limits limits_;
  std::atomic<size_t>& in_flight_;
  std::string remote_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  std::array<char, 16 * 1024> in_{};
  std::string out_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

void serve_h2(tcp::socket socket, std::string received, Handler& handler, H2Limits limits,
              std::atomic<size_t>& in_flight, std::string remote) {
  auto s = std::make_shared<H2Session>(std::move(socket), handler, limits, in_flight, std::move(remote));
  s->start(received);
}

}  // namespace sless::http::detail
