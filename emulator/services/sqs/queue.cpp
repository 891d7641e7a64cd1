#include "services/sqs/queue.h"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "core/ids.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::sqs {
namespace {

int64_t to_i64(const std::map<std::string, std::string>& attrs, const char* name, int64_t fallback) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return fallback;
  }
}

bool to_bool(const std::map<std::string, std::string>& attrs, const char* name) {
  auto it = attrs.find(name);
  return it != attrs.end() && it->second == "true";
}

}  // namespace

std::string queue_arn(std::string_view region, std::string_view account, std::string_view name) {
  return ids::arn("sqs", region, account, name);
}

Queue::Queue(uint64_t id_, std::string account_, std::string region_, std::string name_)
    : id(id_),
      account(std::move(account_)),
      region(std::move(region_)),
      name(std::move(name_)),
      arn(queue_arn(region, account, name)) {}

void Queue::apply_attributes() {
  QueueConfig c;
  c.visibility_timeout = static_cast<int>(to_i64(attributes, "VisibilityTimeout", 30));
  c.delay_seconds = static_cast<int>(to_i64(attributes, "DelaySeconds", 0));
  c.wait_seconds = static_cast<int>(to_i64(attributes, "ReceiveMessageWaitTimeSeconds", 0));
  c.retention_seconds = to_i64(attributes, "MessageRetentionPeriod", 345600);
  c.max_message_size = to_i64(attributes, "MaximumMessageSize", kMaxMessageSize);
  c.fifo = to_bool(attributes, "FifoQueue");
  c.content_dedup = to_bool(attributes, "ContentBasedDeduplication");
  auto scope = attributes.find("DeduplicationScope");
  c.dedup_per_group = scope != attributes.end() && scope->second == "messageGroup";
  auto redrive = attributes.find("RedrivePolicy");
  if (redrive != attributes.end() && !redrive->second.empty()) {
    auto j = nlohmann::json::parse(redrive->second, nullptr, false);
    if (j.is_object()) {
      c.dlq_arn = j.value("deadLetterTargetArn", "");
      const auto& mrc = j.contains("maxReceiveCount") ? j["maxReceiveCount"] : nlohmann::json();
      if (mrc.is_number_integer()) {
        c.max_receive_count = mrc.get<int>();
      } else if (mrc.is_string()) {
        c.max_receive_count = std::atoi(mrc.get<std::string>().c_str());
      }
    }
  }
  config = c;
}

std::string Queue::meta_key() const { return storage::key::KeyBuilder(account, region).str("q").str(name).take(); }

std::string Queue::encode_meta() const {
  nlohmann::json j = {{"id", id},           {"attributes", attributes}, {"tags", tags},
                      {"created", created_ms}, {"modified", modified_ms}, {"purged", last_purge_ms}};
  return j.dump();
}

std::shared_ptr<Queue> Queue::decode_meta(std::string_view account, std::string_view region, std::string_view name,
                                          std::string_view value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_number_unsigned()) return nullptr;
  auto q = std::make_shared<Queue>(j["id"].get<uint64_t>(), std::string(account), std::string(region),
                                   std::string(name));
  if (j.contains("attributes") && j["attributes"].is_object()) {
    for (auto& [k, v] : j["attributes"].items()) {
      if (v.is_string()) q->attributes[k] = v.get<std::string>();
    }
  }
  if (j.contains("tags") && j["tags"].is_object()) {
    for (auto& [k, v] : j["tags"].items()) {
      if (v.is_string()) q->tags[k] = v.get<std::string>();
    }
  }
  q->created_ms = j.value("created", int64_t{0});
  q->modified_ms = j.value("modified", int64_t{0});
  q->last_purge_ms = j.value("purged", int64_t{0});
  q->apply_attributes();
  return q;
}

std::string Queue::message_key(uint64_t seq) const {
  return storage::key::KeyBuilder(account, region).str("m").u64(id).u64(seq).take();
}
std::string Queue::state_key(uint64_t seq) const {
  return storage::key::KeyBuilder(account, region).str("s").u64(id).u64(seq).take();
}
std::string Queue::dedup_key(std::string_view dedup_scope) const {
  return storage::key::KeyBuilder(account, region).str("d").u64(id).str(dedup_scope).take();
}

std::vector<std::pair<std::string, std::string>> Queue::record_ranges() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* kind : {"m", "s", "d", "j"}) {
    std::string begin = storage::key::KeyBuilder(account, region).str(kind).u64(id).take();
    out.emplace_back(begin, storage::key::prefix_end(begin));
  }
  return out;
}

std::string Queue::journal_key(uint64_t journal) const {
  return storage::key::KeyBuilder(account, region).str("j").u64(id).u64(journal).take();
}

std::string Queue::encode_journal(const std::vector<Message*>& changed) {
  std::string out;
  out.reserve(changed.size() * 40);
  for (const Message* m : changed) {
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((m->seq >> (i * 8)) & 0xff));
    out += encode_state(*m);
  }
  return out;
}

void Queue::release_journal(storage::Family* fam, storage::WriteBatch& batch, uint64_t journal) {
  if (journal == 0) return;
  auto it = journal_refs_.find(journal);
  if (it == journal_refs_.end()) return;
  if (--it->second == 0) {
    batch.del(fam, journal_key(journal));
    journal_refs_.erase(it);
  }
}

void Queue::put_states(storage::Family* fam, storage::WriteBatch& batch, const std::vector<Message*>& changed) {
  if (changed.empty()) return;
  uint64_t journal = next_journal_++;
  batch.put(fam, journal_key(journal), encode_journal(changed));
  for (Message* m : changed) {
    release_journal(fam, batch, m->journal);
    m->journal = journal;
  }
  journal_refs_[journal] = static_cast<uint32_t>(changed.size());
}

void Queue::delete_records(storage::Family* fam, storage::WriteBatch& batch, Message& m) {
  batch.del(fam, message_key(m.seq));
  if (m.state_apart) batch.del(fam, state_key(m.seq));
  release_journal(fam, batch, m.journal);
  m.journal = 0;
}

void Queue::restore_journal(uint64_t journal, std::string_view value) {
  next_journal_ = std::max(next_journal_, journal + 1);
  restored_journals_.push_back(journal);
  constexpr size_t kEntry = 8 + 32;  // seq, then encode_state's four u64
  for (; value.size() >= kEntry; value.remove_prefix(kEntry)) {
    uint64_t seq = 0;
    for (int i = 0; i < 8; ++i) seq = (seq << 8) | static_cast<uint8_t>(value[i]);
    auto it = messages_.find(seq);
    if (it == messages_.end()) continue;
    Message& m = it->second;
    by_visible_.erase({m.visible_at_ms, seq});
    decode_state(value.substr(8, 32), &m);
    m.journal = journal;
    by_visible_.emplace(m.visible_at_ms, seq);
  }
}

std::vector<uint64_t> Queue::settle_journal() {
  journal_refs_.clear();
  for (const auto& [seq, m] : messages_) {
    if (m.journal != 0) ++journal_refs_[m.journal];
  }
  std::vector<uint64_t> unused;
  for (uint64_t j : restored_journals_) {
    if (!journal_refs_.count(j)) unused.push_back(j);
  }
  restored_journals_.clear();
  restored_journals_.shrink_to_fit();
  return unused;
}

void Queue::insert(Message&& m) {
  uint64_t seq = m.seq;
  by_visible_.emplace(m.visible_at_ms, seq);
  messages_.insert_or_assign(seq, std::move(m));
}

void Queue::restore_state(uint64_t seq, std::string_view state) {
  auto it = messages_.find(seq);
  if (it == messages_.end()) return;
  by_visible_.erase({it->second.visible_at_ms, seq});
  decode_state(state, &it->second);
  it->second.state_apart = true;
  by_visible_.emplace(it->second.visible_at_ms, seq);
}

Message* Queue::find(uint64_t seq) {
  auto it = messages_.find(seq);
  return it == messages_.end() ? nullptr : &it->second;
}

void Queue::erase(uint64_t seq) {
  auto it = messages_.find(seq);
  if (it == messages_.end()) return;
  by_visible_.erase({it->second.visible_at_ms, seq});
  messages_.erase(it);
}

void Queue::set_visible_at(Message& m, int64_t at) {
  by_visible_.erase({m.visible_at_ms, m.seq});
  m.visible_at_ms = at;
  by_visible_.emplace(at, m.seq);
}

std::vector<uint64_t> Queue::expired(int64_t now, size_t budget) {
  const int64_t retention_ms = config.retention_seconds * 1000;
  auto past = [&](const Message& m) { return m.sent_ms + retention_ms <= now; };
  std::vector<uint64_t> out;
  for (auto it = messages_.begin(); it != messages_.end() && past(it->second); ++it) out.push_back(it->first);
  const uint64_t head_end = out.empty() ? 0 : out.back();  // the oldest run, already taken
  auto at = messages_.upper_bound(expiry_cursor_);
  for (size_t looked = 0; at != messages_.end() && looked < budget; ++at, ++looked) {
    if (at->first > head_end && past(at->second)) out.push_back(at->first);
  }
  expiry_cursor_ = at == messages_.end() ? 0 : std::prev(at)->first;
  return out;
}

void Queue::clear_messages() {
  messages_.clear();
  journal_refs_.clear();
  by_visible_.clear();
  attempts.clear();
}

bool Queue::has_visible(int64_t now) const { return !by_visible_.empty() && by_visible_.begin()->first <= now; }

int64_t Queue::next_visible_after(int64_t now) const {
  auto it = by_visible_.upper_bound({now, UINT64_MAX});
  return it == by_visible_.end() ? 0 : it->first;
}

Queue::Counts Queue::counts(int64_t now) const {
  Counts c;
  for (const auto& [at, seq] : by_visible_) {
    if (at <= now) {
      ++c.visible;
    } else if (messages_.at(seq).receive_count > 0) {
      ++c.in_flight;
    } else {
      ++c.delayed;
    }
  }
  return c;
}

std::string Queue::dedup_scope_key(const std::string& group, const std::string& dedup_id) const {
  return config.dedup_per_group ? group + '\n' + dedup_id : dedup_id;
}

std::string Queue::encode_dedup(const DedupEntry& e) {
  return nlohmann::json{{"x", e.expires_ms}, {"i", e.message_id}, {"n", e.sequence_number}}.dump();
}

bool Queue::decode_dedup(std::string_view in, DedupEntry* e) {
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) return false;
  e->expires_ms = j.value("x", int64_t{0});
  e->message_id = j.value("i", "");
  e->sequence_number = j.value("n", "");
  return true;
}

std::vector<Delivered> Queue::receive(int64_t now, const ReceiveOptions& opts, storage::Family* fam,
                                      storage::WriteBatch& batch, std::vector<Message>& to_dlq,
                                      bool dlq_available) {
  std::vector<Delivered> out;
  const int visibility = opts.visibility_seconds >= 0 ? opts.visibility_seconds : config.visibility_timeout;
  const int64_t retention_ms = config.retention_seconds * 1000;

  // A FIFO retry with the same attempt id gets the same messages and receipts back.
  if (config.fifo && !opts.attempt_id.empty()) {
    auto at = attempts.find(opts.attempt_id);
    if (at != attempts.end() && at->second.expires_ms > now) {
      bool intact = true;
      std::vector<Delivered> again;
      for (auto [seq, nonce] : at->second.received) {
        Message* m = find(seq);
        if (!m || m->receipt_nonce != nonce || !m->in_flight(now)) {
          intact = false;
          break;
        }
        again.push_back({*m, make_receipt(id, seq, nonce)});
      }
      if (intact) return again;
    }
    attempts.erase(opts.attempt_id);
  }

  std::vector<uint64_t> expired;
  std::vector<uint64_t> redrive;
  std::vector<uint64_t> take;
  const bool dlq_on = dlq_available && config.max_receive_count > 0 && !config.dlq_arn.empty();
  auto consider = [&](const Message& m) {
    if (m.sent_ms + retention_ms <= now) {
      expired.push_back(m.seq);
      return false;
    }
    if (dlq_on && m.receive_count >= config.max_receive_count) {
      redrive.push_back(m.seq);
      return false;
    }
    take.push_back(m.seq);
    return true;
  };
  if (!config.fifo) {
    for (auto it = by_visible_.begin(); it != by_visible_.end() && it->first <= now; ++it) {
      consider(messages_.at(it->second));
      if (static_cast<int>(take.size()) >= opts.max) break;
    }
  } else {
    std::unordered_set<std::string> blocked;
    for (auto& [seq, m] : messages_) {
      if (blocked.count(m.group_id)) continue;
      if (m.visible_at_ms > now) {
        blocked.insert(m.group_id);
        continue;
      }
      consider(m);
      if (static_cast<int>(take.size()) >= opts.max) break;
    }
  }

  for (uint64_t seq : expired) {
    delete_records(fam, batch, messages_.at(seq));
    erase(seq);
  }
  for (uint64_t seq : redrive) {
    auto it = messages_.find(seq);
    delete_records(fam, batch, it->second);
    to_dlq.push_back(std::move(it->second));
    by_visible_.erase({to_dlq.back().visible_at_ms, seq});
    messages_.erase(it);
  }
  Attempt attempt;
  out.reserve(take.size());
  std::vector<Message*> changed;
  changed.reserve(take.size());
  for (uint64_t seq : take) {
    Message& m = messages_.at(seq);
    m.receive_count += 1;
    if (m.first_receive_ms == 0) m.first_receive_ms = now;
    uint64_t nonce = ids::random_u64() | 1;
    m.receipt_nonce = nonce;
    set_visible_at(m, now + int64_t{visibility} * 1000);
    changed.push_back(&m);
    attempt.received.emplace_back(seq, nonce);
  }
  put_states(fam, batch, changed);
  for (Message* m : changed) out.push_back({*m, make_receipt(id, m->seq, m->receipt_nonce)});
  if (config.fifo && !opts.attempt_id.empty() && !out.empty()) {
    attempt.expires_ms = now + kDedupWindowMs;
    attempts[opts.attempt_id] = std::move(attempt);
  }
  return out;
}

}  // namespace sless::services::sqs
