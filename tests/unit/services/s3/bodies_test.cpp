#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/ids.h"
#include "services/s3/bodies.h"
#include "services/s3/form.h"
#include "services/s3/ingest.h"
#include "unit/support/temp_dir.h"

using namespace sless::services::s3;
namespace fs = std::filesystem;

namespace {

std::string drain(sless::http::BodySource& s, size_t step = 5) {
  std::string out;
  std::string buf(step, '\0');
  while (true) {
    int64_t n = s.read(buf.data(), buf.size());
    REQUIRE(n >= 0);
    if (n == 0) return out;
    out.append(buf.data(), static_cast<size_t>(n));
  }
}

using sless::testing::TempDir;

std::string write_body(BodyStore& store, std::string_view bytes) {
  auto w = store.create();
  REQUIRE(w.ok());
  REQUIRE(w.value()->append(bytes).is_ok());
  REQUIRE(w.value()->commit().is_ok());
  return w.value()->id();
}

}  // namespace

TEST_CASE("file bodies appear only when committed, and clones survive the original", "[s3]") {
  TempDir dir;
  auto store = BodyStore::open(dir.path().string());
  REQUIRE(store->start().is_ok());
  auto w = store->create();
  REQUIRE(w.ok());
  REQUIRE(w.value()->append("half a bo").is_ok());
  std::string id = w.value()->id();
  CHECK(store->open_body(id) == nullptr);  // still a temporary file
  CHECK(std::distance(fs::directory_iterator(dir.path() / "tmp"), fs::directory_iterator()) == 1);
  REQUIRE(w.value()->append("dy").is_ok());
  REQUIRE(w.value()->commit().is_ok());
  auto f = store->open_body(id);
  REQUIRE(f != nullptr);
  CHECK(f->size() == 11);
  auto copy = store->clone(id);
  REQUIRE(copy.ok());
  store->remove(id);
  CHECK(store->open_body(id) == nullptr);
  REQUIRE(store->open_body(copy.value()) != nullptr);
  CHECK(store->list(INT64_MAX) == std::vector<std::string>{copy.value()});
  CHECK(store->list(0).empty());
}

TEST_CASE("an abandoned writer leaves no temporary file, and start() clears crash leftovers", "[s3]") {
  TempDir dir;
  auto store = BodyStore::open(dir.path().string());
  REQUIRE(store->start().is_ok());
  {
    auto w = store->create();
    REQUIRE(w.ok());
    REQUIRE(w.value()->append("never committed").is_ok());
  }
  CHECK(fs::is_empty(dir.path() / "tmp"));
  std::ofstream(dir.path() / "tmp" / "leftover") << "torn";
  REQUIRE(store->start().is_ok());
  CHECK(fs::is_empty(dir.path() / "tmp"));
}

TEST_CASE("object sources read ranges across segments", "[s3]") {
  for (std::string dir_name : {std::string(), std::string("files")}) {
    TempDir dir;
    auto store = BodyStore::open(dir_name.empty() ? "" : dir.path().string());
    REQUIRE(store->start().is_ok());
    std::vector<Segment> segs = {{write_body(*store, "0123456789"), 10}, {write_body(*store, "abc"), 3},
                                 {write_body(*store, "XYZW"), 4}};
    std::string all = "0123456789abcXYZW";
    for (uint64_t start : {0u, 3u, 10u, 12u}) {
      for (uint64_t len : {0u, 1u, 4u, 5u}) {
        if (start + len > all.size()) continue;
        ObjectSource src(*store, segs, "", start, len);
        REQUIRE(src.ok());
        CHECK(drain(src) == all.substr(start, len));
      }
    }
    ObjectSource whole(*store, segs, "", 0, all.size());
    CHECK(drain(whole, 256 * 1024) == all);
    ObjectSource inline_src(*store, {}, "inline bytes", 7, 5);
    CHECK(drain(inline_src) == "bytes");
    store->remove(segs[1].id);
    CHECK_FALSE(ObjectSource(*store, segs, "", 0, all.size()).ok());
    CHECK(ObjectSource(*store, segs, "", 0, 10).ok());  // the missing segment is outside the range
  }
}

TEST_CASE("ingest keeps small bodies inline and spills large ones", "[s3]") {
  auto store = BodyStore::open("");
  IngestOptions opts;
  opts.inline_limit = 8;
  opts.algorithms = {ChecksumAlgorithm::kCrc32};
  Ingest small(*store, opts);
  REQUIRE(small.feed("tiny").is_ok());
  small.finish();
  CHECK(small.is_inline());
  CHECK(small.take_inline() == "tiny");
  Ingest big(*store, opts);
  REQUIRE(big.feed("more than").is_ok());
  REQUIRE(big.feed(" eight bytes").is_ok());
  big.finish();
  CHECK_FALSE(big.is_inline());
  REQUIRE(big.commit().is_ok());
  CHECK(big.size() == 21);
  CHECK(big.checksum(ChecksumAlgorithm::kCrc32) == checksum_of(ChecksumAlgorithm::kCrc32, "more than eight bytes"));
  auto f = store->open_body(big.body_id());
  REQUIRE(f != nullptr);
  CHECK(f->size() == 21);
  opts.max_size = 4;
  Ingest capped(*store, opts);
  CHECK_FALSE(capped.feed("too long").is_ok());
  CHECK(capped.too_large());
}

TEST_CASE("the form parser streams the file part whatever the chunking", "[s3]") {
  std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
      "PNG\r\n--XyA near --XyZ\r\nbytes\r\n"
      "--XyZ--\r\n";
  for (size_t step : {size_t{1}, size_t{3}, size_t{7}, body.size()}) {
    FormParser p("XyZ");
    std::string key;
    std::string file;
    std::string file_type;
    std::string current;
    bool in_file = false;
    p.on_begin = [&](const FormParser::PartHead& h) {
      in_file = h.is_file;
      if (in_file) file_type = h.content_type;
      current.clear();
      return true;
    };
    p.on_data = [&](std::string_view d) {
      current.append(d);
      return true;
    };
    p.on_end = [&] {
      (in_file ? file : key) = current;
      return true;
    };
    for (size_t i = 0; i < body.size(); i += step) REQUIRE(p.feed(std::string_view(body).substr(i, step)));
    CHECK(p.done());
    CHECK(key == "uploads/${filename}");
    CHECK(file == "PNG\r\n--XyA near --XyZ\r\nbytes");
    CHECK(file_type == "image/png");
  }
  CHECK(FormParser::boundary_of("multipart/form-data; boundary=----abc") == "----abc");
  CHECK(FormParser::boundary_of("multipart/form-data; boundary=\"q b\"") == "q b");
  CHECK(FormParser::boundary_of("application/json").empty());
  FormParser bad("b");
  CHECK_FALSE(bad.feed("--b\r\nNo-Disposition: x\r\n\r\nvalue\r\n--b--"));
}
