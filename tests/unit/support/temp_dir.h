// A directory for one unit test's files, unique to the process and removed with everything in it
// when the object goes. Not shared between threads.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace sless::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& label = "unit") {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("sless-" + label + "-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace sless::testing
