// HTTP/2 over cleartext TCP with prior knowledge (h2c), for clients that speak only HTTP/2 to an
// http:// endpoint (the AWS SDK for JavaScript v3's Kinesis client). Internal to emulator/http:
// the HTTP/1.1 session hands a connection over when its first bytes are the HTTP/2 preface.
// A connection is served on its socket's strand; handler calls arrive on the io threads.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "http/server.h"

namespace sless::http::detail {

// The client connection preface that starts every HTTP/2 connection.
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct H2Limits {
  size_t max_body = 0;  // bigger request bodies are answered 413
  std::chrono::seconds idle_timeout{120};
};

// Serves one h2c connection until either side closes it. `received` holds the bytes already
// read from the socket (the preface and whatever followed). `in_flight` counts requests between
// their end and their response, as the HTTP/1.1 sessions do, for the server's drain.
void serve_h2(boost::asio::ip::tcp::socket socket, std::string received, Handler& handler, H2Limits limits,
              std::atomic<size_t>& in_flight, std::string remote);

}  // namespace sless::http::detail
