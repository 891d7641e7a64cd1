#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sless::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

Result<Response> fetch(const ClientRequest& req) {
  std::string_view url = req.url;
  if (url.substr(0, 7) != "http://") return Status::invalid_argument("only http:// URLs are supported: " + req.url);
  url.remove_prefix(7);
  auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  std::string host(authority);
  std::string port = "80";
  if (auto colon = authority.rfind(':'); colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    host = std::string(authority.substr(0, colon));
    port = std::string(authority.substr(colon + 1));
  }
  try {
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    beast::error_code ec;
    auto results = resolver.resolve(host, port, ec);
    if (ec) return Status::io_error("cannot resolve " + host + ": " + ec.message());
    stream.expires_after(req.timeout);
    stream.async_connect(results, [&](beast::error_code e, const auto&) { ec = e; });
    ioc.run();
    if (ec) return Status::io_error("cannot connect to " + std::string(authority) + ": " + ec.message());
    bhttp::request<bhttp::string_body> msg(bhttp::string_to_verb(req.method), target, 11);
    msg.set(bhttp::field::host, authority);
    for (const auto& [k, v] : req.headers.entries()) msg.set(k, v);
    msg.body() = req.body;
    msg.prepare_payload();
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64u * 1024 * 1024);
    beast::flat_buffer buffer;
    ioc.restart();
    stream.expires_after(req.timeout);
    bhttp::async_write(stream, msg, [&](beast::error_code e, std::size_t) {
      ec = e;
      if (!e) bhttp::async_read(stream, buffer, parser, [&](beast::error_code e2, std::size_t) { ec = e2; });
    });
    ioc.run();
    if (ec) return Status::io_error("request to " + req.url + " failed: " + ec.message());
    auto& m = parser.get();
    Response out;
    out.status = static_cast<int>(m.result_int());
    for (const auto& f : m) out.headers.add(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(m.body());
    beast::error_code ignored;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    return out;
  } catch (const std::exception& e) {
    return Status::io_error(std::string("request to ") + req.url + " failed: " + e.what());
  }
}

}  // namespace sless::http
