#include "host/wire.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace sless::host::wire {
namespace {

void put_u32(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff), static_cast<char>((v >> 16) & 0xff),
               static_cast<char>((v >> 24) & 0xff)};
  out.append(b, 4);
}

uint32_t get_u32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) | (uint32_t(u[1]) << 8) | (uint32_t(u[2]) << 16) | (uint32_t(u[3]) << 24);
}

template <class Range>
std::string encode_range(Type type, const Range& fields) {
  size_t size = 1 + 4;
  for (const auto& f : fields) size += 4 + f.size();
  std::string out;
  out.reserve(4 + size);
  put_u32(out, static_cast<uint32_t>(size));
  out.push_back(static_cast<char>(type));
  put_u32(out, static_cast<uint32_t>(fields.size()));
  for (const auto& f : fields) {
    put_u32(out, static_cast<uint32_t>(f.size()));
    out.append(f.data(), f.size());
  }
  return out;
}

bool read_exact(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

std::string encode(Type type, std::initializer_list<std::string_view> fields) { return encode_range(type, fields); }
std::string encode(Type type, const std::vector<std::string>& fields) { return encode_range(type, fields); }

uint32_t body_length(const char* header4) { return get_u32(header4); }

bool decode(std::string_view body, Frame* out) {
  if (body.size() < 5) return false;
  out->type = static_cast<Type>(static_cast<unsigned char>(body[0]));
  uint32_t count = get_u32(body.data() + 1);
  body.remove_prefix(5);
  if (count > body.size() / 4) return false;
  out->fields.clear();
  out->fields.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (body.size() < 4) return false;
    uint32_t len = get_u32(body.data());
    body.remove_prefix(4);
    if (len > body.size()) return false;
    out->fields.emplace_back(body.substr(0, len));
    body.remove_prefix(len);
  }
  return body.empty();
}

bool send_with_fd(int socket_fd, std::string_view frame, int passed_fd) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov = {const_cast<char*>(frame.data()), frame.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &passed_fd, sizeof(int));
  return sendmsg(socket_fd, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size());
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t w = ::write(fd, bytes.data(), bytes.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(w));
  }
  return true;
}

bool read_frame(int fd, Frame* out) {
  char header[4];
  if (!read_exact(fd, header, 4)) return false;
  uint32_t len = get_u32(header);
  if (len > kMaxFrameBytes) return false;
  std::string body(len, '\0');
  if (!read_exact(fd, body.data(), len)) return false;
  return decode(body, out);
}

}  // namespace sless::host::wire
