// The S3 provider: buckets, objects (streamed in and out), multipart uploads, versioning,
// checksums, presigned URLs and browser POST uploads, bucket CORS / lifecycle / notification
// configuration. Metadata lives in the "s3" family of the Store (see records.h), bodies in a
// BodyStore (files under the data dir, or memory). Called concurrently from the io threads:
// a shared_mutex per bucket (object writes shared, DeleteBucket exclusive) and striped locks per
// object key; no global lock on the request path.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "services/s3/bodies.h"
#include "services/s3/notifications.h"
#include "services/s3/records.h"
#include "services/service.h"

namespace sless::storage {
class Family;
class WriteBatch;
}  // namespace sless::storage

namespace sless::services::s3 {

class S3Provider final : public Provider {
 public:
  S3Provider();
  ~S3Provider() override;

  std::string_view name() const override { return "s3"; }
  Status start(Env& env) override;
  void stop() override;
  Status reset() override;
  nlohmann::json describe() const override;

  bool cors_preflight(const http::Request& request, http::Response& out) override;
  bool cors_headers(std::string_view method, std::string_view path, std::string_view origin,
                    http::Response& res) override;
  bool wants_raw(const http::Request& head) const override;
  void handle_raw(RawInvocation inv) override;

  // Event delivery (ObjectCreated:*, ObjectRemoved:*, LifecycleExpiration:*): every sink is called
  // for every destination of a bucket's notification configuration that matches an event, after
  // the change is stored. Sinks run on the io thread that made the change; register before start().
  void add_event_sink(EventSink sink);

  // Where notification configurations point: `exists` is asked for each destination when a
  // configuration is put (a missing one is S3's InvalidArgument); `send_test` delivers the
  // s3:TestEvent that S3 sends to queues and topics then. Set before start().
  struct Destinations {
    std::function<bool(const EventTarget& target)> exists;
    std::function<void(const EventTarget& target, const std::string& account, const std::string& region,
                       std::string body)>
        send_test;
  };
  void set_destinations(Destinations d) { destinations_ = std::move(d); }

  // Runs one lifecycle pass now (tests and the timer).
  void run_lifecycle();

  struct BucketState;

 private:
  using Sync = std::function<Outcome<protocol::OperationOutput>(Invocation&)>;
  void sync(std::string op, Sync fn);

  // -- common --
  std::optional<ServiceError> check_presigned(const Invocation& inv) const;
  std::shared_ptr<BucketState> find_bucket(const std::string& name) const;
  Outcome<std::shared_ptr<BucketState>> bucket_of(const nlohmann::json& params) const;
  Bucket bucket_meta(const BucketState& b) const;
  Status save_bucket(BucketState& b, const std::function<void(Bucket&)>& change);
  std::mutex& key_lock(std::string_view bucket, std::string_view key);
  // Serializes the parts and completion of one multipart upload; taken before key_lock, never after.
  std::mutex& upload_lock(std::string_view upload_id);
  uint64_t next_seq();

  // -- records --
  std::optional<ObjectRecord> load_current(std::string_view bucket, std::string_view key) const;
  std::optional<ObjectRecord> load_version(std::string_view bucket, std::string_view key, uint64_t seq) const;
  std::vector<ObjectRecord> load_versions(std::string_view bucket, std::string_view key) const;
  // The record a read addresses (current or by version id), or the error S3 answers.
  Outcome<ObjectRecord> resolve_object(const BucketState& b, const std::string& key, const nlohmann::json& params,
                                       bool head) const;
  // Stores `rec` as the new current version of key (versioning per the bucket), removing the
  // bodies it replaces. Fills rec.version_id / seq.
  // `extra` operations join the same atomic write (CompleteMultipartUpload drops its upload).
  Status commit_object(BucketState& b, const std::string& key, ObjectRecord& rec,
                       const std::function<void(storage::WriteBatch&)>& extra = {});
  void drop_bodies(const ObjectRecord& rec);
  struct DeleteResult {
    bool delete_marker = false;
    std::string version_id;  // of the marker created or the version removed
    bool versioned = false;
  };
  Outcome<DeleteResult> delete_object(BucketState& b, const std::string& key, const std::string& version_id);
  void emit(const Bucket& bucket, const std::string& event, const std::string& key, const ObjectRecord* rec,
            const RequestContext* ctx);

  // -- buckets (buckets.cpp) --
  Outcome<protocol::OperationOutput> create_bucket(Invocation& inv);
  Outcome<protocol::OperationOutput> delete_bucket(Invocation& inv);
  Outcome<protocol::OperationOutput> head_bucket(Invocation& inv);
  Outcome<protocol::OperationOutput> list_buckets(Invocation& inv);
  Outcome<protocol::OperationOutput> get_bucket_location(Invocation& inv);
  void register_bucket_configs();

  // -- objects (objects.cpp) --
  void put_object(Invocation&& inv);
  Outcome<protocol::OperationOutput> get_object(Invocation& inv, bool head);
  Outcome<protocol::OperationOutput> delete_object_op(Invocation& inv);
  Outcome<protocol::OperationOutput> delete_objects(Invocation& inv);
  Outcome<protocol::OperationOutput> copy_object(Invocation& inv);
  Outcome<protocol::OperationOutput> list_objects(Invocation& inv, bool v2);
  Outcome<protocol::OperationOutput> list_object_versions(Invocation& inv);
  Outcome<protocol::OperationOutput> get_object_attributes(Invocation& inv);
  void register_object_tagging();

  // -- multipart (multipart.cpp) --
  Outcome<protocol::OperationOutput> create_multipart(Invocation& inv);
  void upload_part(Invocation&& inv);
  Outcome<protocol::OperationOutput> upload_part_copy(Invocation& inv);
  Outcome<protocol::OperationOutput> complete_multipart(Invocation& inv);
  Outcome<protocol::OperationOutput> abort_multipart(Invocation& inv);
  Outcome<protocol::OperationOutput> list_parts(Invocation& inv);
  Outcome<protocol::OperationOutput> list_multipart_uploads(Invocation& inv);
  std::optional<Upload> load_upload(const std::string& bucket, const std::string& key, const std::string& id) const;
  void remove_upload(const Upload& u);

  // -- POST uploads (post_object.cpp) --
  void post_object(RawInvocation&& inv);

  // Removes body files no record refers to (left by a crash between a body's rename and its
  // record's write). Only files older than a minute, so uploads in flight are never touched.
  void sweep_orphans();

  // -- lifecycle (lifecycle.cpp) --
  void schedule_lifecycle(std::chrono::milliseconds delay);
  void lifecycle_bucket(BucketState& b);

  friend struct PutFlow;
  friend struct PostFlow;

  Env* env_ = nullptr;
  storage::Store* store_ = nullptr;
  storage::Family* fam_ = nullptr;
  std::unique_ptr<BodyStore> bodies_;
  mutable std::shared_mutex buckets_mu_;
  std::unordered_map<std::string, std::shared_ptr<BucketState>> buckets_;
  std::array<std::mutex, 256> key_locks_;
  std::array<std::mutex, 64> upload_locks_;
  std::atomic<uint64_t> seq_{0};
  std::vector<EventSink> sinks_;
  Destinations destinations_;
  std::mutex lifecycle_mu_;
  uint64_t lifecycle_timer_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace sless::services::s3
