#include "services/s3/bodies.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "core/ids.h"
#include "core/log.h"

namespace sless::services::s3 {
namespace {

namespace fs = std::filesystem;

std::string new_id() { return ids::random_hex(32); }

Status errno_status(const std::string& what) { return Status::io_error(what + ": " + std::strerror(errno)); }

// ---- files ----

class FileBody final : public BodyFile {
 public:
  FileBody(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FileBody() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  int64_t pread(char* buf, size_t n, uint64_t offset) override {
    while (true) {
      ssize_t r = ::pread(fd_, buf, n, static_cast<off_t>(offset));
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }

 private:
  int fd_;
  uint64_t size_;
};

class FileStore;

class FileWriter final : public BodyWriter {
 public:
  FileWriter(FileStore& store, std::string id, int fd, std::string tmp)
      : store_(store), id_(std::move(id)), fd_(fd), tmp_(std::move(tmp)) {}
  ~FileWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  Status append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t w = ::write(fd_, data.data(), data.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno_status("writing " + tmp_);
      }
      data.remove_prefix(static_cast<size_t>(w));
      size_ += static_cast<uint64_t>(w);
    }
    return Status::ok();
  }
  Status commit() override;
  const std::string& id() const override { return id_; }
  uint64_t size() const override { return size_; }

 private:
  FileStore& store_;
  std::string id_;
  int fd_;
  std::string tmp_;
  uint64_t size_ = 0;
  bool committed_ = false;
};

class FileStore final : public BodyStore {
 public:
  explicit FileStore(std::string dir) : dir_(std::move(dir)) {}

  std::string path_of(const std::string& id) const { return dir_ + "/b/" + id.substr(0, 2) + "/" + id; }
  std::string tmp_of(const std::string& id) const { return dir_ + "/tmp/" + id; }

  Status start() override {
    std::error_code ec;
    fs::remove_all(dir_ + "/tmp", ec);
    fs::create_directories(dir_ + "/tmp", ec);
    if (ec) return Status::io_error("cannot create " + dir_ + "/tmp: " + ec.message());
    fs::create_directories(dir_ + "/b", ec);
    if (ec) return Status::io_error("cannot create " + dir_ + "/b: " + ec.message());
    return Status::ok();
  }

  Result<std::unique_ptr<BodyWriter>> create() override {
    std::string id = new_id();
    std::string tmp = tmp_of(id);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return errno_status("creating " + tmp);
    return std::unique_ptr<BodyWriter>(std::make_unique<FileWriter>(*this, std::move(id), fd, std::move(tmp)));
  }

  // Makes sure the fan-out folder of an id exists.
  Status ensure_parent(const std::string& id) {
    std::string parent = dir_ + "/b/" + id.substr(0, 2);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return errno_status("creating " + parent);
    return Status::ok();
  }

  std::shared_ptr<BodyFile> open_body(const std::string& id) override {
    if (id.size() < 2) return nullptr;
    int fd = ::open(path_of(id).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return nullptr;
    }
    return std::make_shared<FileBody>(fd, static_cast<uint64_t>(st.st_size));
  }

  void remove(const std::string& id) override {
    if (id.size() < 2) return;
    if (::unlink(path_of(id).c_str()) != 0 && errno != ENOENT) {
      log::warn("s3: cannot remove body {}: {}", id, std::strerror(errno));
    }
  }

  Result<std::string> clone(const std::string& id) override {
    std::string copy = new_id();
    if (Status st = ensure_parent(copy); !st.is_ok()) return st;
    if (::link(path_of(id).c_str(), path_of(copy).c_str()) != 0) return errno_status("linking body " + id);
    return copy;
  }

  Status clear() override {
    std::error_code ec;
    fs::remove_all(dir_ + "/b", ec);
    fs::create_directories(dir_ + "/b", ec);
    if (ec) return Status::io_error("cannot clear " + dir_ + ": " + ec.message());
    return Status::ok();
  }

  std::vector<std::string> list(int64_t before_ms) override {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir_ + "/b", ec), end; !ec && it != end; it.increment(ec)) {
      struct stat st {};
      if (!it->is_regular_file(ec) || ::stat(it->path().c_str(), &st) != 0) continue;
      int64_t mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
      if (mtime_ms < before_ms) out.push_back(it->path().filename().string());
    }
    return out;
  }

 private:
  std::string dir_;
};

Status FileWriter::commit() {
  if (::close(fd_) != 0) {
    fd_ = -1;
    return errno_status("closing " + tmp_);
  }
  fd_ = -1;
  if (Status st = store_.ensure_parent(id_); !st.is_ok()) return st;
  if (::rename(tmp_.c_str(), store_.path_of(id_).c_str()) != 0) return errno_status("renaming " + tmp_);
  committed_ = true;
  return Status::ok();
}

// ---- memory ----

class MemoryBody final : public BodyFile {
 public:
  explicit MemoryBody(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_->size(); }
  int64_t pread(char* buf, size_t n, uint64_t offset) override {
    if (offset >= bytes_->size()) return 0;
    size_t k = std::min<size_t>(n, bytes_->size() - static_cast<size_t>(offset));
    std::memcpy(buf, bytes_->data() + offset, k);
    return static_cast<int64_t>(k);
  }

 private:
  std::shared_ptr<const std::string> bytes_;
};

class MemoryStore;

class MemoryWriter final : public BodyWriter {
 public:
  MemoryWriter(MemoryStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  Status append(std::string_view data) override {
    bytes_.append(data);
    return Status::ok();
  }
  Status commit() override;
  const std::string& id() const override { return id_; }
  uint64_t size() const override { return bytes_.size(); }

 private:
  MemoryStore& store_;
  std::string id_;
  std::string bytes_;
};

class MemoryStore final : public BodyStore {
 public:
  Status start() override { return Status::ok(); }
  Result<std::unique_ptr<BodyWriter>> create() override {
    return std::unique_ptr<BodyWriter>(std::make_unique<MemoryWriter>(*this, new_id()));
  }
  void put(const std::string& id, std::string bytes) {
    auto p = std::make_shared<const std::string>(std::move(bytes));
    std::unique_lock lock(mu_);
    bodies_[id] = std::move(p);
  }
  std::shared_ptr<BodyFile> open_body(const std::string& id) override {
    std::shared_lock lock(mu_);
    auto it = bodies_.find(id);
    if (it == bodies_.end()) return nullptr;
    return std::make_shared<MemoryBody>(it->second);
  }
  void remove(const std::string& id) override {
    std::unique_lock lock(mu_);
    bodies_.erase(id);
  }
  Result<std::string> clone(const std::string& id) override {
    std::unique_lock lock(mu_);
    auto it = bodies_.find(id);
    if (it == bodies_.end()) return Status::not_found("no body " + id);
    std::string copy = new_id();
    auto bytes = it->second;
    bodies_[copy] = std::move(bytes);
    return copy;
  }
  Status clear() override {
    std::unique_lock lock(mu_);
    bodies_.clear();
    return Status::ok();
  }
  std::vector<std::string> list(int64_t) override {
    std::shared_lock lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, _] : bodies_) out.push_back(id);
    return out;
  }

 private:
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> bodies_;
};

Status MemoryWriter::commit() {
  store_.put(id_, std::move(bytes_));
  bytes_.clear();
  return Status::ok();
}

}  // namespace

std::unique_ptr<BodyStore> BodyStore::open(const std::string& dir) {
  if (dir.empty()) return std::make_unique<MemoryStore>();
  return std::make_unique<FileStore>(dir);
}

ObjectSource::ObjectSource(BodyStore& store, const std::vector<Segment>& segments, std::string inline_bytes,
                           uint64_t offset, uint64_t length)
    : inline_(std::move(inline_bytes)), pos_(offset), end_(offset + length), length_(length) {
  if (segments.empty()) return;
  uint64_t start = 0;
  for (const auto& s : segments) {
    Open o;
    o.size = s.size;
    // Only the segments that overlap the range are needed.
    if (start + s.size > offset && start < end_) {
      o.file = store.open_body(s.id);
      if (!o.file) ok_ = false;
    }
    files_.push_back(std::move(o));
    start += s.size;
  }
  while (seg_ < files_.size() && seg_start_ + files_[seg_].size <= pos_) {
    seg_start_ += files_[seg_].size;
    ++seg_;
  }
}

int64_t ObjectSource::read(char* buf, size_t max) {
  if (pos_ >= end_) return 0;
  size_t want = static_cast<size_t>(std::min<uint64_t>(max, end_ - pos_));
  if (files_.empty()) {
    if (pos_ + want > inline_.size()) return -1;
    std::memcpy(buf, inline_.data() + pos_, want);
    pos_ += want;
    return static_cast<int64_t>(want);
  }
  size_t done = 0;
  while (done < want && seg_ < files_.size()) {
    Open& o = files_[seg_];
    uint64_t in_seg = pos_ - seg_start_;
    if (in_seg >= o.size) {
      seg_start_ += o.size;
      ++seg_;
      continue;
    }
    if (!o.file) return -1;
    size_t n = static_cast<size_t>(std::min<uint64_t>(want - done, o.size - in_seg));
    int64_t r = o.file->pread(buf + done, n, in_seg);
    if (r <= 0) return done > 0 ? static_cast<int64_t>(done) : -1;
    done += static_cast<size_t>(r);
    pos_ += static_cast<uint64_t>(r);
  }
  return static_cast<int64_t>(done);
}

}  // namespace sless::services::s3
