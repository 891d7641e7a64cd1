#include "services/s3/ingest.h"

#include <exception>

#include "core/log.h"
#include "http/server.h"

namespace sless::services::s3 {

namespace {

// The chunks waiting for their MD5 on this io thread, hashed together by run_hash_batch, which
// the first of them schedules behind the thread's other ready completions.
struct PendingHash {
  md5::State* state;
  std::string_view data;
  std::function<void()> then;
};
struct HashBatch {
  std::vector<PendingHash> items;
  std::vector<md5::Job> jobs;
  bool scheduled = false;
  bool waited = false;  // the batch was put back once already
  size_t uploads = 0;   // streamed bodies being read on this thread
};
thread_local HashBatch t_hash_batch;

void run_hash_batch() {
  HashBatch& batch = t_hash_batch;
  // A batch of one or two while other uploads are under way on this thread waits one more turn
  // of the thread for their chunks to join it: lanes left empty cost as much as full ones.
  if (!batch.waited && batch.items.size() < std::min<size_t>(3, batch.uploads) &&
      http::defer_on_io_thread(run_hash_batch)) {
    batch.waited = true;
    return;
  }
  batch.waited = false;
  std::vector<PendingHash> items;
  items.swap(batch.items);
  batch.scheduled = false;
  batch.jobs.clear();
  for (const auto& item : items) batch.jobs.push_back({item.state, item.data});
  md5::update_many(batch.jobs.data(), batch.jobs.size());
  // Each continuation reads its upload's next chunk or answers it; one that throws must not
  // strand the others' uploads.
  for (auto& item : items) {
    try {
      item.then();
    } catch (const std::exception& e) {
      log::error("s3: an upload's continuation failed: {}", e.what());
    }
  }
}

void hash_in_batch(md5::State* state, std::string_view data, std::function<void()> then) {
  HashBatch& batch = t_hash_batch;
  batch.items.push_back({state, data, std::move(then)});
  if (batch.scheduled) return;
  if (http::defer_on_io_thread(run_hash_batch)) {
    batch.scheduled = true;
  } else {
    run_hash_batch();
  }
}

}  // namespace

Ingest::Ingest(BodyStore& store, IngestOptions options) : store_(store), options_(std::move(options)) {
  for (auto a : options_.algorithms) {
    if (auto h = Hasher::make(a)) hashers_.emplace_back(a, std::move(h));
  }
}

Ingest::~Ingest() {
  if (committed_ && !released_ && writer_) store_.remove(writer_->id());
}

Status Ingest::feed(std::string_view data) {
  Status st = take(data);
  if (st.is_ok()) md5::update(md5_state_, data);
  return st;
}

Status Ingest::feed_batched(std::string_view data, std::function<void()> then) {
  Status st = take(data);
  if (!st.is_ok()) return st;
  if (data.empty()) {
    then();
  } else {
    hash_in_batch(&md5_state_, data, std::move(then));
  }
  return st;
}

Status Ingest::take(std::string_view data) {
  if (data.empty()) return Status::ok();
  size_ += data.size();
  if (size_ > options_.max_size) {
    too_large_ = true;
    return Status::invalid_argument("EntityTooLarge");
  }
  for (auto& [_, h] : hashers_) h->update(data);
  if (!writer_ && size_ <= options_.inline_limit) {
    inline_.append(data);
    return Status::ok();
  }
  if (!writer_) {
    auto w = store_.create();
    if (!w.ok()) return w.status();
    writer_ = std::move(w).value();
    if (!inline_.empty()) {
      if (Status st = writer_->append(inline_); !st.is_ok()) return st;
      inline_.clear();
      inline_.shrink_to_fit();
    }
  }
  return writer_->append(data);
}

void Ingest::finish() {
  md5_ = md5::finish(md5_state_);
  for (auto& [a, h] : hashers_) digests_[a] = h->finish();
  hashers_.clear();
  // A body that must not be inline (parts) still needs a file when it is empty.
  if (!writer_ && options_.inline_limit == 0) {
    if (auto w = store_.create(); w.ok()) writer_ = std::move(w).value();
  }
}

std::string Ingest::checksum(ChecksumAlgorithm a) const {
  auto it = digests_.find(a);
  return it == digests_.end() ? std::string() : it->second;
}

Status Ingest::commit() {
  if (!writer_) return Status::ok();
  if (Status st = writer_->commit(); !st.is_ok()) return st;
  committed_ = true;
  return Status::ok();
}

const std::string& Ingest::body_id() const {
  static const std::string kNone;
  return writer_ ? writer_->id() : kNone;
}

namespace {

struct Pump : std::enable_shared_from_this<Pump> {
  std::shared_ptr<http::Request> request;
  std::shared_ptr<Ingest> ingest;
  std::function<void(bool, std::string)> done;
  HashBatch* counted = nullptr;  // the io thread's batch whose `uploads` counts this body

  ~Pump() { uncount(); }

  // Counted from its first chunk to its end, on the thread that delivers the chunks.
  void count() {
    if (counted) return;
    counted = &t_hash_batch;
    ++counted->uploads;
  }
  void uncount() {
    if (counted) --counted->uploads;
    counted = nullptr;
  }
  void finish(bool ok, std::string error) {
    uncount();
    done(ok, std::move(error));
  }

  void next() {
    auto self = shared_from_this();
    request->stream->read([self](bool ok, std::string_view chunk) {
      if (!ok) {
        self->finish(false, "the request body ended early or was malformed");
        return;
      }
      if (chunk.empty()) {
        self->finish(true, {});
        return;
      }
      self->count();
      // The next chunk is asked for once this one is hashed: the reader's buffer holds it till then.
      if (Status st = self->ingest->feed_batched(chunk, [self] { self->next(); }); !st.is_ok()) {
        self->finish(false, self->ingest->too_large() ? "EntityTooLarge" : st.to_string());
      }
    });
  }
};

}  // namespace

void read_body(std::shared_ptr<http::Request> request, std::shared_ptr<Ingest> ingest,
               std::function<void(bool, std::string)> done) {
  if (!request->stream) {
    Status st = ingest->feed(request->body);
    if (!st.is_ok()) {
      done(false, ingest->too_large() ? "EntityTooLarge" : st.to_string());
      return;
    }
    done(true, {});
    return;
  }
  auto pump = std::make_shared<Pump>();
  pump->request = std::move(request);
  pump->ingest = std::move(ingest);
  pump->done = std::move(done);
  pump->next();
}

}  // namespace sless::services::s3
