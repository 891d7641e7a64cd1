// The Store on RocksDB: the only file that includes RocksDB's headers.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include "core/log.h"
#include "storage/store.h"

namespace sless::storage {
namespace {

// Sized for a local emulator: a fast start, a small idle footprint, bounded growth.
constexpr size_t kBlockCacheBytes = size_t{32} << 20;     // shared by all families, filled lazily
constexpr size_t kMemtableBudgetBytes = size_t{64} << 20;  // all memtables together
constexpr size_t kWriteBufferBytes = size_t{8} << 20;      // one memtable
constexpr uint64_t kMaxWalBytes = uint64_t{128} << 20;     // beyond this, flush the stale families
constexpr const char* kMemoryPath = "/sless-memory";
// clear() deletes up to this many keys one by one (cheap for later reads), more with one range.
constexpr uint64_t kPointDeleteLimit = 1000;

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

Status to_status(const rocksdb::Status& s) {
  if (s.ok()) {
    return Status::ok();
  }
  std::string message = s.getState() != nullptr ? s.getState() : "";
  switch (s.code()) {
    case rocksdb::Status::kNotFound: return Status::not_found(std::move(message));
    case rocksdb::Status::kCorruption: return Status::corruption(std::move(message));
    case rocksdb::Status::kNotSupported:
    case rocksdb::Status::kInvalidArgument: return Status::invalid_argument(std::move(message));
    case rocksdb::Status::kIOError: return Status::io_error(std::move(message));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kTryAgain: return Status::busy(std::move(message));
    case rocksdb::Status::kAborted: return Status::aborted(std::move(message));
    default: return Status::internal(s.ToString());
  }
}

// RocksDB's warnings and errors go to the daemon's log rather than to a LOG file in the data dir.
class LogForwarder final : public rocksdb::Logger {
 public:
  LogForwarder() : Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) {
      return;
    }
    std::array<char, 1024> line{};
    std::vsnprintf(line.data(), line.size(), format, ap);
    log::emit(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? log::Level::kError : log::Level::kWarn,
              "rocksdb: {}", line.data());
  }
};

rocksdb::DBOptions db_options() {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.info_log = std::make_shared<LogForwarder>();
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.stats_dump_period_sec = 0;
  o.stats_persist_period_sec = 0;
  // Two flush threads (RocksDB's default split of two jobs gives one): a flush waits for its
  // fsyncs, which take seconds while the kernel writes back a large backlog (gigabytes of S3
  // bodies written just before), and a single thread then also holds up every other family's flush.
  o.max_background_flushes = 2;
  o.max_background_compactions = 2;
  o.avoid_unnecessary_blocking_io = true;
  o.max_total_wal_size = kMaxWalBytes;
  o.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(kMemtableBudgetBytes);
  // Open table files on demand rather than all of them at start-up.
  o.max_open_files = 256;
  // Recovery otherwise starts 16 threads per family to open table files, even when there are none.
  o.max_file_opening_threads = 1;
  // Replayed log records stay in memtables instead of being written to table files at open, and
  // memtables are not written out at close: the log has them (in memory, nothing survives anyway).
  o.avoid_flush_during_recovery = true;
  o.avoid_flush_during_shutdown = true;
  o.skip_stats_update_on_db_open = true;
  o.skip_checking_sst_file_sizes_on_db_open = true;
  return o;
}

rocksdb::ColumnFamilyOptions family_options() {
  rocksdb::BlockBasedTableOptions table;
  // Four shards of 8 MiB rather than RocksDB's default of 64 of 512 KiB: a table file's index and
  // filter blocks (cached, see below) outgrow 512 KiB at about half a million keys, and a block
  // larger than its shard never stays, so every read fetched, checked and decompressed the index
  // again (a Query on a table of a million items took 0.7 ms instead of 0.1).
  table.block_cache = rocksdb::NewLRUCache(kBlockCacheBytes, /*num_shard_bits=*/2);
  table.cache_index_and_filter_blocks = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions o;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  o.write_buffer_size = kWriteBufferBytes;
  // Full memtables waiting for their flush: RocksDB slows writes down at seven and stops every
  // write to the database at eight. With its default of two, a family written at a few MB/s
  // (invocation logs) reached the limit during one slow flush (see db_options), and io threads
  // blocked for up to seconds (the Lambda p99 of 1.4 s after the S3 scenarios). The write buffer
  // manager still starts flushes once all memtables together pass its budget.
  o.max_write_buffer_number = 8;
  o.level_compaction_dynamic_level_bytes = true;
  return o;
}

// The memtable's insert hints (Options::ordered_suffix): a key's prefix is the key without its
// last `suffix` bytes.
class DropSuffix final : public rocksdb::SliceTransform {
 public:
  explicit DropSuffix(size_t suffix) : suffix_(suffix) {}
  const char* Name() const override { return "SlessDropSuffix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - suffix_);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() > suffix_; }

 private:
  size_t suffix_;
};

// The local file system, except that fsyncs are skipped while a brand-new database holds no data
// (its creation, and the services creating their families at start-up): there is nothing to lose
// yet, and the three syncs of each family created (manifest, options file, directory) made up
// most of the start-up time. The first write turns syncing on (Store::Impl::wrote); files and
// directories made meanwhile sync normally from then on, and a later sync of either covers what
// was written before it. Process kills never lose the page cache either way.
class CreationFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  CreationFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "SlessCreationFileSystem"; }
  void set_syncing(bool syncing) { syncing_ = syncing; }
  bool syncing() const { return syncing_; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, file, debug);
    if (s.ok() && !syncing_) {
      *file = std::make_unique<File>(std::move(*file), syncing_);
    }
    return s;
  }

  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* dir,
                                 rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus s = target()->NewDirectory(name, options, dir, debug);
    if (s.ok() && !syncing_) {
      *dir = std::make_unique<Directory>(std::move(*dir), syncing_);
    }
    return s;
  }

 private:
  using IOOptions = rocksdb::IOOptions;
  using IODebugContext = rocksdb::IODebugContext;

  class File final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, const std::atomic<bool>& syncing)
        : FSWritableFileOwnerWrapper(std::move(file)), syncing_(syncing) {}
    rocksdb::IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
      return syncing_ ? FSWritableFileOwnerWrapper::Sync(o, d) : rocksdb::IOStatus::OK();
    }
    rocksdb::IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
      return syncing_ ? FSWritableFileOwnerWrapper::Fsync(o, d) : rocksdb::IOStatus::OK();
    }

   private:
    const std::atomic<bool>& syncing_;
  };

  class Directory final : public rocksdb::FSDirectoryWrapper {
   public:
    Directory(std::unique_ptr<rocksdb::FSDirectory> dir, const std::atomic<bool>& syncing)
        : FSDirectoryWrapper(std::move(dir)), syncing_(syncing) {}
    rocksdb::IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
      return syncing_ ? FSDirectoryWrapper::Fsync(o, d) : rocksdb::IOStatus::OK();
    }
    rocksdb::IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* d,
                                          const rocksdb::DirFsyncOptions& options) override {
      return syncing_ ? FSDirectoryWrapper::FsyncWithDirOptions(o, d, options) : rocksdb::IOStatus::OK();
    }

   private:
    const std::atomic<bool>& syncing_;
  };

  std::atomic<bool> syncing_{true};
};

class RocksIterator final : public Iterator {
 public:
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* handle, std::string_view lower,
                std::string_view upper)
      : lower_(lower), upper_(upper), lower_slice_(lower_), upper_slice_(upper_) {
    rocksdb::ReadOptions read;
    read.iterate_lower_bound = &lower_slice_;
    read.iterate_upper_bound = upper_.empty() ? nullptr : &upper_slice_;
    it_.reset(db->NewIterator(read, handle));
  }

  bool valid() const override { return it_->Valid(); }
  void seek_to_first() override { it_->SeekToFirst(); }
  void seek_to_last() override { it_->SeekToLast(); }
  void seek(std::string_view key) override { it_->Seek(slice(key)); }
  void seek_for_prev(std::string_view key) override { it_->SeekForPrev(slice(key)); }
  void next() override { it_->Next(); }
  void prev() override { it_->Prev(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return to_status(it_->status()); }

 private:
  // The bounds live here because RocksDB keeps pointers to them.
  const std::string lower_;
  const std::string upper_;
  const rocksdb::Slice lower_slice_;
  const rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

// The families of one database and their creation. A family exists in RocksDB only from its first
// write on: until then it has no handle and reads see it empty (which it is). The families the
// daemon is known to need are created together, in one step (one options file written for all),
// once start-up is over (Store::create_families) or at the first write to any of them, whichever
// comes first; any other family is created alone at its first write.
class Families {
 public:
  rocksdb::ColumnFamilyOptions options;
  std::map<std::string, size_t, std::less<>> ordered_suffix;  // Options::ordered_suffix

  // `options`, with the insert hints of the family `name` when it has them.
  rocksdb::ColumnFamilyOptions options_for(std::string_view name) const {
    auto it = ordered_suffix.find(name);
    if (it == ordered_suffix.end()) return options;
    rocksdb::ColumnFamilyOptions o = options;
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<DropSuffix>(it->second);
    return o;
  }
  std::mutex mu;  // creation, and the members below
  std::condition_variable batch_done;
  enum class Batch { kNone, kPending, kRunning } batch = Batch::kNone;
  std::vector<Family*> pending;  // the batch's families, while kPending
  std::map<std::string, std::unique_ptr<Family>, std::less<>> by_name;

  // Creates `family` unless it exists; its handle, or nullptr (logged) when RocksDB refuses.
  rocksdb::ColumnFamilyHandle* create(Family& family);
  // Runs the pending batch unless another thread is (then waits for it). `lock` holds mu, and the
  // database's open is over.
  void settle(std::unique_lock<std::mutex>& lock);

  // The database, waiting for its open if a thread is at it (a brand-new database opens beside
  // the daemon's start, see Store::open); nullptr when the open failed (then opening_error()).
  rocksdb::DB* database() {
    if (!open_done_.load(std::memory_order_acquire)) {
      std::unique_lock lock(open_mu_);
      open_cv_.wait(lock, [this] { return open_done_.load(std::memory_order_acquire); });
    }
    return db_;
  }
  // Called once, by whoever opened the database: db, or nullptr and why not.
  void opened(rocksdb::DB* db, std::string error) {
    {
      std::lock_guard lock(open_mu_);
      db_ = db;
      open_error_ = std::move(error);
      open_done_.store(true, std::memory_order_release);
    }
    open_cv_.notify_all();
  }
  const std::string& opening_error() const { return open_error_; }  // after database()

 private:
  void create_batch(rocksdb::DB* db, const std::vector<Family*>& missing);

  std::mutex open_mu_;
  std::condition_variable open_cv_;
  std::atomic<bool> open_done_{false};
  rocksdb::DB* db_ = nullptr;
  std::string open_error_;
};

class Family {
 public:
  Family(Families& owner, std::string name, rocksdb::ColumnFamilyHandle* handle)
      : owner_(owner), name_(std::move(name)), handle_(handle) {}
  ~Family() { delete handle_.load(std::memory_order_acquire); }
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  const std::string& name() const { return name_; }
  // The handle, or nullptr while the family does not exist yet (it has no data).
  rocksdb::ColumnFamilyHandle* existing() const { return handle_.load(std::memory_order_acquire); }
  // The handle, creating the family first if needed; nullptr when it cannot be created.
  rocksdb::ColumnFamilyHandle* writable() {
    if (rocksdb::ColumnFamilyHandle* h = existing()) return h;
    return owner_.create(*this);
  }
  void set(rocksdb::ColumnFamilyHandle* h) { handle_.store(h, std::memory_order_release); }

 private:
  Families& owner_;
  const std::string name_;
  std::atomic<rocksdb::ColumnFamilyHandle*> handle_;
};

rocksdb::ColumnFamilyHandle* Families::create(Family& family) {
  rocksdb::DB* db = database();  // before mu: the thread opening it takes mu at the end
  std::unique_lock lock(mu);
  settle(lock);
  if (rocksdb::ColumnFamilyHandle* h = family.existing()) return h;
  if (db == nullptr) {
    log::error("storage: cannot create column family '{}': the database did not open ({})", family.name(),
               opening_error());
    return nullptr;
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  const rocksdb::Status s = db->CreateColumnFamily(options_for(family.name()), family.name(), &handle);
  if (!s.ok()) {
    log::error("storage: cannot create column family '{}': {}", family.name(), s.ToString());
    return nullptr;
  }
  family.set(handle);
  return handle;
}

void Families::settle(std::unique_lock<std::mutex>& lock) {
  while (batch != Batch::kNone) {
    if (batch == Batch::kRunning) {
      batch_done.wait(lock);
      continue;
    }
    batch = Batch::kRunning;
    const std::vector<Family*> missing = std::move(pending);
    pending.clear();
    lock.unlock();
    if (rocksdb::DB* db = database()) create_batch(db, missing);
    lock.lock();
    batch = Batch::kNone;
    batch_done.notify_all();
  }
}

void Families::create_batch(rocksdb::DB* db, const std::vector<Family*>& missing) {
  const auto began = std::chrono::steady_clock::now();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (Family* f : missing) descriptors.emplace_back(f->name(), options_for(f->name()));
  std::vector<rocksdb::ColumnFamilyHandle*> created;
  const rocksdb::Status s = db->CreateColumnFamilies(descriptors, &created);
  for (size_t i = 0; i < created.size() && i < missing.size(); ++i) missing[i]->set(created[i]);
  if (!s.ok()) {
    log::error("storage: creating the column families failed: {} (each is retried at its first write)",
               s.ToString());
    return;
  }
  log::debug("storage: {} families created in {:.1f} ms", created.size(),
             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count());
}

namespace {

// Iterates nothing: the cursor of a family that does not exist yet.
class EmptyIterator final : public Iterator {
 public:
  bool valid() const override { return false; }
  void seek_to_first() override {}
  void seek_to_last() override {}
  void seek(std::string_view) override {}
  void seek_for_prev(std::string_view) override {}
  void next() override {}
  void prev() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  Status status() const override { return Status::ok(); }
};

}  // namespace

// WriteBatch operations fail only for keys or values over 4 GiB, which no request can carry, or
// when a family cannot be created; Store::write then reports the first such failure.
struct WriteBatch::Rep {
  rocksdb::WriteBatch batch;
  std::string failed_family;

  // The family's handle for a write, or nullptr (the failure noted).
  rocksdb::ColumnFamilyHandle* handle(Family* family) {
    rocksdb::ColumnFamilyHandle* h = family->writable();
    if (h == nullptr && failed_family.empty()) failed_family = family->name();
    return h;
  }
};

WriteBatch::WriteBatch() : rep_(std::make_unique<Rep>()) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::put(Family* family, std::string_view key, std::string_view value) {
  if (auto* h = rep_->handle(family)) rep_->batch.Put(h, slice(key), slice(value)).PermitUncheckedError();
}

void WriteBatch::del(Family* family, std::string_view key) {
  if (auto* h = rep_->handle(family)) rep_->batch.Delete(h, slice(key)).PermitUncheckedError();
}

void WriteBatch::delete_range(Family* family, std::string_view begin, std::string_view end) {
  if (auto* h = rep_->handle(family)) {
    rep_->batch.DeleteRange(h, slice(begin), slice(end)).PermitUncheckedError();
  }
}

size_t WriteBatch::count() const { return rep_->batch.Count(); }
void WriteBatch::clear() {
  rep_->batch.Clear();
  rep_->failed_family.clear();
}

struct Store::Impl {
  // Members are destroyed bottom-up: the families' handles before the database, the database
  // before the in-memory file system it lives on.
  std::shared_ptr<CreationFileSystem> file_system;  // on disk only
  std::unique_ptr<rocksdb::Env> env;               // the in-memory one, or file_system's
  bool in_memory = false;
  // The data dir's claim (an flock on its LOCK file, see claim_directory), held until the
  // database has closed; -1 in memory.
  int claim_fd = -1;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_options;  // sync = false: the log reaches the OS before a write returns
  // A brand-new database that has had no write yet: its files are not synced (see
  // CreationFileSystem).
  std::atomic<bool> unsynced{false};
  // Durable mode writes RocksDB's log buffer out by hand (DBOptions::manual_wal_flush): writes
  // appended to the buffer so far, and how many of them a completed write of the buffer covers.
  // A flag instead of the second count would let a thread find it cleared by another thread whose
  // write of the buffer had not finished yet, and answer before its record reached the OS.
  std::atomic<uint64_t> log_appended{0};
  std::atomic<uint64_t> log_written{0};
  Families families;
  std::thread opener;  // a brand-new database's open, while the daemon starts

  ~Impl() {
    if (claim_fd >= 0) ::close(claim_fd);
  }

  // The outcome of a write: in durable mode its log record goes to the OS now, or, on a thread
  // that holds the log for this store, at the next flush_log().
  Status committed(const rocksdb::Status& s);
  // Writes the log buffer out unless a completed write already covered every record appended.
  Status write_log();

  void wrote() {
    if (unsynced.load(std::memory_order_relaxed) && unsynced.exchange(false)) {
      file_system->set_syncing(true);
    }
  }

  // Opens the database on `path` with the families it has; records the outcome in `families`.
  Status open_database(rocksdb::DBOptions db, const std::string& path);

  // Why a write to `family` fails: the database did not open (a brand-new one fails in the
  // background), or RocksDB would not create the family.
  Status unwritable(const std::string& family) {
    if (families.database() == nullptr) {
      return Status::io_error("the database did not open: " + families.opening_error());
    }
    return Status::io_error("cannot create column family " + family);
  }
};

namespace {

// The store whose log this thread holds back (Store::hold_log), if any.
thread_local const void* log_held_by = nullptr;

}  // namespace

Status Store::Impl::committed(const rocksdb::Status& s) {
  if (!s.ok() || in_memory) return to_status(s);
  log_appended.fetch_add(1, std::memory_order_acq_rel);
  return log_held_by == this ? Status::ok() : write_log();
}

Status Store::Impl::write_log() {
  // Every record counted before this load is in the buffer; a write of the buffer that started
  // after it covers them all.
  const uint64_t appended = log_appended.load(std::memory_order_acquire);
  if (log_written.load(std::memory_order_acquire) >= appended) return Status::ok();
  Status s = to_status(db->FlushWAL(/*sync=*/false));
  if (!s.is_ok()) {
    log::error("storage: writing the log failed: {}", s.message());
    return s;
  }
  uint64_t written = log_written.load(std::memory_order_relaxed);
  while (written < appended && !log_written.compare_exchange_weak(written, appended, std::memory_order_acq_rel)) {
  }
  return s;
}

namespace {

Status in_use(const std::string& path, const std::string& why) {
  return Status::busy("data directory '" + path + "' is in use by another process (" + why + ")");
}

// Claims the data dir for this Store with an flock on RocksDB's LOCK file, so that a second
// daemon (or a second Store in this process: flocks belong to an open file, not to a process) is
// told the directory is in use before it starts, even while the first one's database is still
// being created. RocksDB's own lock on the same file (an fcntl lock) is independent of it.
Result<int> claim_directory(const std::string& path) {
  const std::string lock_file = (std::filesystem::path(path) / "LOCK").string();
  const int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("cannot open " + lock_file + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return in_use(path, lock_file + " is locked");
    }
    return Status::io_error("cannot lock " + lock_file + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace

Status Store::Impl::open_database(rocksdb::DBOptions db_opts, const std::string& path) {
  const auto began = std::chrono::steady_clock::now();
  std::vector<std::string> names;
  const rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_opts, path, &names);
  if (listed.IsPathNotFound() || listed.IsNotFound()) {
    names = {rocksdb::kDefaultColumnFamilyName};
  } else if (!listed.ok()) {
    families.opened(nullptr, listed.ToString());
    return to_status(listed);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, families.options_for(name));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status opened = rocksdb::DB::Open(db_opts, path, descriptors, &handles, &raw_db);
  if (file_system != nullptr) {
    // A fresh database stays unsynced until its first write.
    const bool fresh = opened.ok() && !file_system->syncing();
    unsynced.store(fresh);
    file_system->set_syncing(!fresh);
  }
  if (!opened.ok()) {
    families.opened(nullptr, opened.ToString());
    if (opened.IsIOError() && opened.ToString().find("LOCK") != std::string::npos) {
      return in_use(path, opened.ToString());
    }
    return to_status(opened);
  }
  db.reset(raw_db);
  {
    std::lock_guard lock(families.mu);
    for (size_t i = 0; i < handles.size(); ++i) {
      auto& slot = families.by_name[names[i]];
      if (slot) {
        slot->set(handles[i]);
      } else {
        slot = std::make_unique<Family>(families, names[i], handles[i]);
      }
    }
  }
  families.opened(raw_db, {});
  log::debug("storage: database open in {:.1f} ms",
             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count());
  return Status::ok();
}

Result<std::unique_ptr<Store>> Store::open(const Options& options) {
  auto impl = std::make_unique<Impl>();
  rocksdb::DBOptions db = db_options();
  std::string path = options.dir;
  impl->in_memory = options.in_memory;
  bool fresh = true;
  if (options.in_memory) {
    impl->env.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    path = kMemoryPath;
    impl->env->CreateDirIfMissing(path).PermitUncheckedError();  // spares RocksDB a logged lookup error
    impl->write_options.disableWAL = true;  // nothing outlives the process anyway
  } else {
    std::error_code ec;
    if (path.empty() || (std::filesystem::create_directories(path, ec), ec)) {
      return Status::io_error("cannot create data directory '" + path + "': " + ec.message());
    }
    Result<int> claim = claim_directory(path);
    if (!claim.ok()) return claim.status();
    impl->claim_fd = claim.value();
    impl->file_system = std::make_shared<CreationFileSystem>();
    fresh = !std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec) && !ec;
    impl->file_system->set_syncing(!fresh);
    impl->env = rocksdb::NewCompositeEnv(impl->file_system);
    // RocksDB appends a write's log record to its buffer and leaves the buffer's write to the
    // store (Impl::committed, flush_log): at once after each write, or once for a batch of
    // requests an io thread handled together (hold_log).
    db.manual_wal_flush = true;
  }
  db.env = impl->env.get();

  Families& families = impl->families;
  families.options = family_options();
  families.ordered_suffix = options.ordered_suffix;
  for (const std::string& name : options.families) {
    if (families.by_name.contains(name)) continue;
    auto family = std::make_unique<Family>(families, name, nullptr);
    families.pending.push_back(family.get());
    families.by_name.emplace(name, std::move(family));
  }
  if (fresh) {
    // A brand-new database has nothing to read: its creation (4-8 ms, most of a start-up) runs
    // beside the daemon's start. Reads see every family empty, as it is, until the families
    // exist; the first write, and create_families(), wait for the database (Families::database).
    Impl* raw = impl.get();
    impl->opener = std::thread([raw, db, path] {
      if (Status s = raw->open_database(db, path); !s.is_ok()) {
        log::error("storage: cannot create the database in '{}': {}", path, s.to_string());
      }
    });
  } else if (Status s = impl->open_database(db, path); !s.is_ok()) {
    return s;
  }
  // Created when the database is open: their families existed already when they were listed.
  if (!fresh) {
    std::erase_if(families.pending, [](Family* f) { return f->existing() != nullptr; });
  }
  if (!families.pending.empty()) families.batch = Families::Batch::kPending;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() {
  if (impl_->opener.joinable()) impl_->opener.join();
  impl_->families.by_name.clear();
  if (!impl_->db) return;
  if (!impl_->in_memory) impl_->db->FlushWAL(/*sync=*/false).PermitUncheckedError();
  const rocksdb::Status closed = impl_->db->Close();
  if (!closed.ok()) {
    log::error("storage: closing the database failed: {}", closed.ToString());
  }
}

Family* Store::family(std::string_view name) {
  Families& families = impl_->families;
  std::lock_guard lock(families.mu);
  if (auto it = families.by_name.find(name); it != families.by_name.end()) {
    return it->second.get();
  }
  std::string owned(name);
  auto family = std::make_unique<Family>(families, owned, nullptr);
  return families.by_name.emplace(std::move(owned), std::move(family)).first->second.get();
}

void Store::create_families() {
  impl_->families.database();  // waits for the open, if a thread is at it (before mu, see create)
  std::unique_lock lock(impl_->families.mu);
  impl_->families.settle(lock);
}

Status Store::get(Family* family, std::string_view key, std::string* value) const {
  rocksdb::ColumnFamilyHandle* h = family->existing();
  if (h == nullptr) return Status::not_found();
  return to_status(impl_->db->Get(rocksdb::ReadOptions(), h, slice(key), value));
}

Status Store::put(Family* family, std::string_view key, std::string_view value) {
  rocksdb::ColumnFamilyHandle* h = family->writable();
  if (h == nullptr) return impl_->unwritable(family->name());
  impl_->wrote();
  return impl_->committed(impl_->db->Put(impl_->write_options, h, slice(key), slice(value)));
}

Status Store::del(Family* family, std::string_view key) {
  rocksdb::ColumnFamilyHandle* h = family->writable();
  if (h == nullptr) return impl_->unwritable(family->name());
  impl_->wrote();
  return impl_->committed(impl_->db->Delete(impl_->write_options, h, slice(key)));
}

Status Store::write(WriteBatch& batch) {
  if (!batch.rep_->failed_family.empty()) {
    return impl_->unwritable(batch.rep_->failed_family);
  }
  // A batch with writes has its families, hence an open database; an empty one has nothing to do.
  if (batch.empty()) return Status::ok();
  impl_->wrote();
  return impl_->committed(impl_->db->Write(impl_->write_options, &batch.rep_->batch));
}

std::unique_ptr<Iterator> Store::iterate(Family* family, std::string_view lower, std::string_view upper) const {
  rocksdb::ColumnFamilyHandle* h = family->existing();
  if (h == nullptr) return std::make_unique<EmptyIterator>();
  return std::make_unique<RocksIterator>(impl_->db.get(), h, lower, upper);
}

Status Store::clear(Family* family) {
  if (family->existing() == nullptr) return Status::ok();  // never written: nothing to clear
  // Point deletions keep later reads cheap; a large family gets one range deletion instead,
  // from the smallest possible key to just past its last key.
  WriteBatch batch;
  std::unique_ptr<Iterator> it = iterate(family, {}, {});
  for (it->seek_to_first(); it->valid() && batch.count() < kPointDeleteLimit; it->next()) {
    batch.del(family, it->key());
  }
  if (it->valid()) {
    it->seek_to_last();
    batch.clear();
    batch.delete_range(family, {}, std::string(it->key()) + '\0');
  }
  if (Status s = it->status(); !s.is_ok()) {
    return s;
  }
  return batch.empty() ? Status::ok() : write(batch);
}

Status Store::flush() {
  if (in_memory()) {
    return Status::ok();
  }
  if (impl_->families.database() == nullptr) return impl_->unwritable({});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  {
    std::lock_guard lock(impl_->families.mu);
    for (const auto& [name, family] : impl_->families.by_name) {
      if (rocksdb::ColumnFamilyHandle* h = family->existing()) handles.push_back(h);
    }
  }
  rocksdb::FlushOptions options;
  options.wait = true;
  if (Status s = to_status(impl_->db->Flush(options, handles)); !s.is_ok()) {
    return s;
  }
  return to_status(impl_->db->FlushWAL(/*sync=*/true));
}

bool Store::in_memory() const { return impl_->in_memory; }

void Store::hold_log() { log_held_by = impl_.get(); }

void Store::release_log(bool flush) {
  log_held_by = nullptr;
  if (flush) flush_log().ignore();  // a failure is logged there
}

Status Store::flush_log() {
  if (impl_->in_memory) return Status::ok();
  return impl_->write_log();  // two loads when nothing waits
}

}  // namespace sless::storage
