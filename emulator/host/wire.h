// The frames between the daemon and a worker process (and the zygote): a type byte and a list
// of byte strings, length-prefixed. Encoding and decoding are pure; the blocking fd helpers are
// for the worker and zygote side, one thread per fd.
//
//   frame := u32 body_length | u8 type | u32 field_count | (u32 length | bytes)*
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace sless::host::wire {

enum class Type : uint8_t {
  kHello = 1,       // worker → daemon: "ok", plugin name, abi version, handlers, init log, start-up timings
                    //   ("<requested> <running> <loaded> <ready>", CLOCK_MONOTONIC ns) | "error", message
  kInvoke = 2,      // daemon → worker: see InvokeField
  kResult = 3,      // worker → daemon: see ResultField
  kCall = 4,        // worker → daemon: service, operation, request JSON
  kCallResult = 5,  // daemon → worker: "ok" | "service_error" | "host_error", response JSON, code, message
  kSpawn = 6,       // daemon → zygote (+ the worker's socket as SCM_RIGHTS): see SpawnField
  kSpawned = 7,     // zygote → daemon: request id, pid (or "error", message)
  kExited = 8,      // zygote → daemon: pid, wait status
};

enum InvokeField : size_t {
  kInvRequestId, kInvPayload, kInvFunctionArn, kInvFunctionName, kInvVersion, kInvLogGroup, kInvLogStream,
  kInvClientContext, kInvCognitoIdentity, kInvTraceId, kInvDeadlineMs, kInvMemoryMb, kInvFieldCount
};
enum ResultField : size_t {
  kResStatus,        // "ok" | "error" | "invalid"
  kResPayload, kResErrorType, kResContentType, kResLogs, kResMaxRssKb, kResFieldCount
};
enum SpawnField : size_t {
  kSpawnRequestId, kSpawnPlugin, kSpawnHandler, kSpawnEnv /* KEY=VALUE lines */, kSpawnMemoryMb, kSpawnFieldCount
};

constexpr uint32_t kMaxFrameBytes = 64u * 1024 * 1024;

struct Frame {
  Type type = Type::kHello;
  std::vector<std::string> fields;
  const std::string& at(size_t i) const {
    static const std::string kEmpty;
    return i < fields.size() ? fields[i] : kEmpty;
  }
};

std::string encode(Type type, std::initializer_list<std::string_view> fields);
std::string encode(Type type, const std::vector<std::string>& fields);
// Decodes a frame body (everything after the u32 length). False when malformed.
bool decode(std::string_view body, Frame* out);
// Reads the u32 body length at the start of a frame.
uint32_t body_length(const char* header4);

// Sends one whole frame with a file descriptor attached (SCM_RIGHTS) on a SOCK_SEQPACKET socket;
// false (errno set) when it did not go out whole.
bool send_with_fd(int socket_fd, std::string_view frame, int passed_fd);

// Blocking I/O on a socket or pipe; false on EOF or error.
bool write_all(int fd, std::string_view bytes);
bool read_frame(int fd, Frame* out);

}  // namespace sless::host::wire
