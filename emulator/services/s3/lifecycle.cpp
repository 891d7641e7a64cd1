// The lifecycle sweep: applies each bucket's enabled rules (expiration, noncurrent version
// expiration, expired delete markers, incomplete multipart uploads). Runs on a scheduler timer
// shortly after start, after every PutBucketLifecycleConfiguration, and hourly.
#include "services/s3/lifecycle.h"

#include "core/clock.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "services/s3/common.h"
#include "services/s3/provider.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::s3 {

using nlohmann::json;

void S3Provider::schedule_lifecycle(std::chrono::milliseconds delay) {
  if (stopping_.load() || !env_ || !env_->scheduler) return;
  std::lock_guard lock(lifecycle_mu_);
  if (lifecycle_timer_) env_->scheduler->cancel(lifecycle_timer_);
  lifecycle_timer_ = env_->scheduler->after(delay, [this] {
    {
      std::lock_guard inner(lifecycle_mu_);
      lifecycle_timer_ = 0;
    }
    run_lifecycle();
    schedule_lifecycle(std::chrono::hours(1));
  });
}

void S3Provider::run_lifecycle() {
  std::vector<std::shared_ptr<BucketState>> todo;
  {
    std::shared_lock lock(buckets_mu_);
    for (const auto& [_, b] : buckets_) {
      if (!b->get()->lifecycle.is_null()) todo.push_back(b);
    }
  }
  for (const auto& b : todo) lifecycle_bucket(*b);
}

void S3Provider::lifecycle_bucket(BucketState& b) {
  auto meta = b.get();
  const json& rules = meta->lifecycle.value("Rules", json::array());
  int64_t now = env_->clock->now_ms();
  bool versioned = !meta->versioning.empty();
  struct Action {
    std::string key;
    std::string version;  // empty: expire the current version
    bool marker = false;
  };
  std::vector<Action> actions;
  // Current versions.
  {
    std::string base = keys::bucket_all('O', meta->name);
    auto it = store_->iterate(fam_, base, storage::key::prefix_end(base));
    for (it->seek_to_first(); it->valid(); it->next()) {
      std::string key;
      if (!keys::read_object_key(it->key(), base.size(), &key)) continue;
      auto rec = ObjectRecord::decode(it->value());
      if (!rec) continue;
      for (const auto& rule : rules) {
        if (!lifecycle_rule_applies(rule, key, rec->tags, rec->size)) continue;
        if (auto at = lifecycle_expiry(rule, rec->last_modified_ms); at && *at <= now) {
          actions.push_back(Action{key, "", false});
          break;
        }
      }
    }
  }
  // Noncurrent versions and expired delete markers.
  if (versioned) {
    std::string base = keys::bucket_all('V', meta->name);
    auto it = store_->iterate(fam_, base, storage::key::prefix_end(base));
    std::string current_key;
    int64_t newer_modified = 0;
    size_t versions_of_key = 0;
    std::optional<ObjectRecord> first;
    auto finish_key = [&]() {
      // A delete marker that is the only version left is an expired object delete marker.
      if (versions_of_key == 1 && first && first->delete_marker) {
        for (const auto& rule : rules) {
          if (lifecycle_rule_applies(rule, current_key, {}, 0) && lifecycle_removes_expired_markers(rule)) {
            actions.push_back(Action{current_key, first->version_id, true});
            break;
          }
        }
      }
    };
    for (it->seek_to_first(); it->valid(); it->next()) {
      std::string key;
      uint64_t seq = 0;
      if (!keys::read_version_key(it->key(), base.size(), &key, &seq)) continue;
      auto rec = ObjectRecord::decode(it->value());
      if (!rec) continue;
      if (key != current_key || versions_of_key == 0) {
        if (versions_of_key > 0) finish_key();
        current_key = key;
        versions_of_key = 0;
        first = rec;
      } else {
        for (const auto& rule : rules) {
          if (!lifecycle_rule_applies(rule, key, rec->tags, rec->size)) continue;
          if (auto at = lifecycle_noncurrent_expiry(rule, newer_modified); at && *at <= now) {
            actions.push_back(Action{key, rec->version_id, rec->delete_marker});
            break;
          }
        }
      }
      ++versions_of_key;
      newer_modified = rec->last_modified_ms;
    }
    if (versions_of_key > 0) finish_key();
  }
  {
    std::shared_lock objects(b.objects);
    for (const auto& a : actions) {
      auto r = delete_object(b, a.key, a.version);
      if (!r.ok()) continue;
      emit(*meta,
           r.value().delete_marker && a.version.empty() ? "LifecycleExpiration:DeleteMarkerCreated"
                                                        : "LifecycleExpiration:Delete",
           a.key, nullptr, nullptr);
    }
  }
  // Incomplete multipart uploads.
  std::vector<Upload> stale;
  {
    std::string base = keys::bucket_all('U', meta->name);
    auto it = store_->iterate(fam_, base, storage::key::prefix_end(base));
    for (it->seek_to_first(); it->valid(); it->next()) {
      auto u = Upload::decode(it->value());
      if (!u) continue;
      for (const auto& rule : rules) {
        if (!lifecycle_rule_applies(rule, u->key, {}, 0)) continue;
        if (auto at = lifecycle_abort_time(rule, u->initiated_ms); at && *at <= now) {
          stale.push_back(std::move(*u));
          break;
        }
      }
    }
  }
  for (const auto& u : stale) {
    std::lock_guard lock(upload_lock(u.upload_id));
    remove_upload(u);
  }
  if (!actions.empty() || !stale.empty()) {
    log::info("s3 lifecycle: bucket {}: {} versions expired, {} uploads aborted", meta->name, actions.size(),
              stale.size());
  }
}

}  // namespace sless::services::s3
