// Watches plugin files for hot reload (libuv: Asio has no file-system watching). One thread runs
// a libuv loop; watch()/unwatch() may be called from any thread. The callback runs on the
// watcher thread, once per burst of changes (debounced), with the path that was watched.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace sless::host {

class FileWatcher {
 public:
  using Callback = std::function<void(const std::string& path)>;
  explicit FileWatcher(Callback on_change, int debounce_ms = 150);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Watches a file (through its directory, so that replacing the file by a rename is seen too).
  void watch(const std::string& path);
  void unwatch(const std::string& path);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sless::host
