// Status: the outcome of a storage or I/O call (modelled on RocksDB's rocksdb::Status).
// A value type; any thread may create, copy and read one.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace sless {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk,
    kNotFound,
    kInvalidArgument,
    kCorruption,
    kIOError,
    kBusy,
    kAborted,
    kInternal,
  };

  Status() = default;

  static Status ok() { return Status(); }
  static Status not_found(std::string msg = {}) { return Status(Code::kNotFound, std::move(msg)); }
  static Status invalid_argument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status io_error(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status aborted(std::string msg) { return Status(Code::kAborted, std::move(msg)); }
  static Status internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool is_ok() const { return code_ == Code::kOk; }
  bool is_not_found() const { return code_ == Code::kNotFound; }
  bool is_invalid_argument() const { return code_ == Code::kInvalidArgument; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

  // Marks a status as deliberately ignored.
  void ignore() const {}

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace sless
