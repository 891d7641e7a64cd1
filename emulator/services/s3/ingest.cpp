#include "services/s3/ingest.h"

namespace sless::services::s3 {

Ingest::Ingest(BodyStore& store, IngestOptions options)
    : store_(store), options_(std::move(options)), md5_hasher_(Hasher::md5()) {
  for (auto a : options_.algorithms) {
    if (auto h = Hasher::make(a)) hashers_.emplace_back(a, std::move(h));
  }
}

Ingest::~Ingest() {
  if (committed_ && !released_ && writer_) store_.remove(writer_->id());
}

Status Ingest::feed(std::string_view data) {
  if (data.empty()) return Status::ok();
  size_ += data.size();
  if (size_ > options_.max_size) {
    too_large_ = true;
    return Status::invalid_argument("EntityTooLarge");
  }
  md5_hasher_->update(data);
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
  md5_ = md5_hasher_->finish();
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

  void next() {
    auto self = shared_from_this();
    request->stream->read([self](bool ok, std::string_view chunk) {
      if (!ok) {
        self->done(false, "the request body ended early or was malformed");
        return;
      }
      if (chunk.empty()) {
        self->done(true, {});
        return;
      }
      if (Status st = self->ingest->feed(chunk); !st.is_ok()) {
        self->done(false, self->ingest->too_large() ? "EntityTooLarge" : st.to_string());
        return;
      }
      self->next();
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
