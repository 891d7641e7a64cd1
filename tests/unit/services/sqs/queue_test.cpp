#include <set>

#include <catch2/catch.hpp>

#include "services/sqs/queue.h"
#include "storage/store.h"

using namespace sless::services::sqs;

namespace {

Message msg(uint64_t seq, std::string group = "", int64_t visible_at = 0) {
  Message m;
  m.seq = seq;
  m.id = "m" + std::to_string(seq);
  m.body = m.id;
  m.group_id = std::move(group);
  m.sent_ms = 1000;
  m.visible_at_ms = visible_at;
  return m;
}

struct QueueFixture {
  std::unique_ptr<sless::storage::Store> store;
  sless::storage::Family* fam = nullptr;
  QueueFixture() {
    sless::storage::Options o;
    o.in_memory = true;
    store = std::move(sless::storage::Store::open(o).value());
    fam = store->family("sqs");
  }
};

std::vector<std::string> bodies(const std::vector<Delivered>& got) {
  std::vector<std::string> out;
  for (const auto& d : got) out.push_back(d.message.body);
  return out;
}

}  // namespace

TEST_CASE("standard queue receive honours visibility and counts", "[sqs]") {
  QueueFixture f;
  Queue q(1, "000000000000", "us-east-1", "q");
  q.apply_attributes();
  q.insert(msg(1));
  q.insert(msg(2, "", 5000));  // delayed
  sless::storage::WriteBatch batch;
  std::vector<Message> dlq;
  auto got = q.receive(2000, ReceiveOptions{10, 10, ""}, f.fam, batch, dlq, false);
  CHECK(bodies(got) == std::vector<std::string>{"m1"});
  auto c = q.counts(2000);
  CHECK((c.visible == 0 && c.in_flight == 1 && c.delayed == 1));
  CHECK(q.next_visible_after(2000) == 5000);
  // Both visible again later; the receive count grows.
  got = q.receive(20000, ReceiveOptions{10, 10, ""}, f.fam, batch, dlq, false);
  // Standard queues serve in order of visibility: m2 (visible at 5 s) before m1 (at 12 s).
  CHECK(bodies(got) == std::vector<std::string>{"m2", "m1"});
  CHECK(got[1].message.receive_count == 2);
}

TEST_CASE("FIFO receive serves groups in order, one group in flight at a time", "[sqs]") {
  QueueFixture f;
  Queue q(1, "000000000000", "us-east-1", "q.fifo");
  q.attributes["FifoQueue"] = "true";
  q.apply_attributes();
  q.insert(msg(1, "a"));
  q.insert(msg(2, "b"));
  q.insert(msg(3, "a"));
  sless::storage::WriteBatch batch;
  std::vector<Message> dlq;
  auto got = q.receive(2000, ReceiveOptions{1, 30, ""}, f.fam, batch, dlq, false);
  CHECK(bodies(got) == std::vector<std::string>{"m1"});
  got = q.receive(2000, ReceiveOptions{10, 30, ""}, f.fam, batch, dlq, false);
  CHECK(bodies(got) == std::vector<std::string>{"m2"});  // group a is blocked behind m1
  q.erase(1);
  got = q.receive(2000, ReceiveOptions{10, 30, ""}, f.fam, batch, dlq, false);
  CHECK(bodies(got) == std::vector<std::string>{"m3"});
}

TEST_CASE("messages past maxReceiveCount go to the dead-letter list", "[sqs]") {
  QueueFixture f;
  Queue q(1, "000000000000", "us-east-1", "q");
  q.attributes["RedrivePolicy"] = R"({"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":1})";
  q.apply_attributes();
  q.insert(msg(1));
  sless::storage::WriteBatch batch;
  std::vector<Message> dlq;
  CHECK(q.receive(2000, ReceiveOptions{1, 0, ""}, f.fam, batch, dlq, true).size() == 1);
  CHECK(q.receive(2000, ReceiveOptions{1, 0, ""}, f.fam, batch, dlq, true).empty());
  REQUIRE(dlq.size() == 1);
  CHECK(dlq[0].id == "m1");
  CHECK(q.size() == 0);
}

TEST_CASE("the retention sweep finds expired messages a bounded scan at a time", "[sqs]") {
  Queue q(1, "000000000000", "us-east-1", "q");
  q.apply_attributes();  // retention 4 days
  const int64_t retention_ms = q.config.retention_seconds * 1000;
  const int64_t now = 10 * retention_ms;
  // 1..3 past retention (the oldest run), then fresh ones with two redriven messages among them
  // that kept an old sent time (seq 40 and 95).
  for (uint64_t seq = 1; seq <= 100; ++seq) {
    Message m = msg(seq);
    bool old = seq <= 3 || seq == 40 || seq == 95;
    m.sent_ms = old ? now - retention_ms - 1 : now - 1000;
    q.insert(std::move(m));
  }
  // Each call takes the oldest run whole and looks at 30 more messages from where it stopped.
  std::set<uint64_t> found;
  size_t calls = 0;
  while (found.size() < 5 && calls < 10) {
    std::vector<uint64_t> got = q.expired(now, 30);
    ++calls;
    CHECK(got.size() <= 3 + 2);
    CHECK(std::vector<uint64_t>(got.begin(), got.begin() + 3) == std::vector<uint64_t>{1, 2, 3});
    found.insert(got.begin(), got.end());
  }
  CHECK(found == std::set<uint64_t>{1, 2, 3, 40, 95});
  CHECK(calls == 4);  // 100 messages, 30 a call: the last one reaches seq 95 ... 100
  // Nothing expired: nothing found, whatever the cursor.
  for (uint64_t seq : {1, 2, 3, 40, 95}) q.erase(seq);
  for (int i = 0; i < 5; ++i) CHECK(q.expired(now, 30).empty());
}
