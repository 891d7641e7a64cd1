// Ingest: takes an object or part body in as it arrives (buffered, or streamed chunk by chunk),
// computing MD5 and the requested checksums on the way, keeping small bodies in memory (inline in
// the metadata record) and spilling larger ones to a BodyWriter, so memory stays bounded whatever
// the size. One Ingest per request, used from the thread that delivers its chunks. The MD5 of a
// streamed body is computed chunk by chunk in batches with the other uploads on the same io thread
// (core/md5.h: several streams per SIMD instruction).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/md5.h"
#include "core/status.h"
#include "http/message.h"
#include "services/s3/bodies.h"
#include "services/s3/checksums.h"

namespace sless::services::s3 {

struct IngestOptions {
  uint64_t inline_limit = 0;                  // bodies up to this many bytes stay inline
  uint64_t max_size = UINT64_MAX;             // larger bodies fail with EntityTooLarge
  std::vector<ChecksumAlgorithm> algorithms;  // computed besides MD5
};

class Ingest {
 public:
  Ingest(BodyStore& store, IngestOptions options);
  Status feed(std::string_view data);
  // feed() for a chunk of a streamed body, except that the chunk's MD5 is computed later on this
  // io thread, in one batch with the chunks that other uploads received in the same wake-up;
  // `then` runs once it is (at once when not on an io thread). `data` must stay valid until then.
  // On an error nothing is deferred and `then` is not called.
  Status feed_batched(std::string_view data, std::function<void()> then);
  // Ends the body: digests become available.
  void finish();

  uint64_t size() const { return size_; }
  bool too_large() const { return too_large_; }
  const std::string& md5() const { return md5_; }                     // raw
  std::string checksum(ChecksumAlgorithm a) const;                     // raw, empty when not computed
  bool is_inline() const { return !writer_; }
  std::string take_inline() { return std::move(inline_); }
  // Commits the spilled body (rename into place); then body_id() names it.
  Status commit();
  const std::string& body_id() const;
  // Forgets a committed body without removing it (the record now owns it).
  void release() { released_ = true; }
  ~Ingest();

 private:
  BodyStore& store_;
  IngestOptions options_;
  Status take(std::string_view data);  // feed() but the MD5

  md5::State md5_state_;
  std::vector<std::pair<ChecksumAlgorithm, std::unique_ptr<Hasher>>> hashers_;
  std::map<ChecksumAlgorithm, std::string> digests_;
  std::unique_ptr<BodyWriter> writer_;
  std::string inline_;
  std::string md5_;
  uint64_t size_ = 0;
  bool too_large_ = false;
  bool committed_ = false;
  bool released_ = false;
};

// Reads the whole body of `request` (Request::body, or Request::stream chunk by chunk) into
// `ingest`, then calls done(ok) exactly once: false when the transport failed or a write failed
// (`error` says why).
void read_body(std::shared_ptr<http::Request> request, std::shared_ptr<Ingest> ingest,
               std::function<void(bool ok, std::string error)> done);

}  // namespace sless::services::s3
