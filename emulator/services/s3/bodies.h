// Object bodies: where the bytes of S3 objects and upload parts live. The durable store keeps
// each body in its own file under <data dir>/files/s3, written to tmp/ first and renamed into
// place only once complete (a crash leaves no torn body); the in-memory store keeps them in a map.
// Bodies are named by random ids, never by object keys, so no key can reach outside the folder.
// Thread-safe: any io thread may create, read and remove bodies concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"
#include "http/message.h"

namespace sless::services::s3 {

// A body being written. Owned by one request; abort() (or destruction) discards it.
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  virtual Status append(std::string_view data) = 0;
  // Makes the body readable under its id (the rename). No further appends.
  virtual Status commit() = 0;
  virtual const std::string& id() const = 0;
  virtual uint64_t size() const = 0;
};

// An open body for reading; positional reads, so one handle may serve several ranges.
class BodyFile {
 public:
  virtual ~BodyFile() = default;
  virtual uint64_t size() const = 0;
  // Reads up to n bytes at offset; returns the count (0 at the end) or -1 on error.
  virtual int64_t pread(char* buf, size_t n, uint64_t offset) = 0;
};

class BodyStore {
 public:
  // Files under `dir` (created), or memory when dir is empty.
  static std::unique_ptr<BodyStore> open(const std::string& dir);
  virtual ~BodyStore() = default;
  // Cleans up leftovers of a crash (temporary files).
  virtual Status start() = 0;
  virtual Result<std::unique_ptr<BodyWriter>> create() = 0;
  // nullptr when the body does not exist (or was removed meanwhile).
  virtual std::shared_ptr<BodyFile> open_body(const std::string& id) = 0;
  virtual void remove(const std::string& id) = 0;
  // A new id naming the same bytes (a hard link, or a shared buffer): O(1) copies.
  virtual Result<std::string> clone(const std::string& id) = 0;
  // Removes every body.
  virtual Status clear() = 0;
  // Ids of every stored body last written before `before_ms` (epoch ms), for the orphan sweep.
  virtual std::vector<std::string> list(int64_t before_ms) = 0;
};

// One piece of an object's bytes: a stored body (by id) or bytes held inline.
struct Segment {
  std::string id;       // empty: inline
  uint64_t size = 0;
};

// Streams [offset, offset+length) of an object made of segments (or inline bytes) as an HTTP
// response body. Opens every segment up front so that a concurrent overwrite cannot pull a body
// from under a download; `ok()` is false when a segment is already gone.
class ObjectSource final : public http::BodySource {
 public:
  ObjectSource(BodyStore& store, const std::vector<Segment>& segments, std::string inline_bytes, uint64_t offset,
               uint64_t length);
  bool ok() const { return ok_; }
  uint64_t size() const override { return length_; }
  int64_t read(char* buf, size_t max) override;

 private:
  struct Open {
    std::shared_ptr<BodyFile> file;
    uint64_t size = 0;
  };
  std::vector<Open> files_;
  std::string inline_;
  bool ok_ = true;
  uint64_t pos_ = 0;        // absolute position in the object
  uint64_t end_ = 0;
  uint64_t length_ = 0;
  size_t seg_ = 0;          // segment holding pos_
  uint64_t seg_start_ = 0;  // object offset where segment seg_ starts
};

}  // namespace sless::services::s3
