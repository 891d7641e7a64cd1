// Store: the daemon's one key-value database (RocksDB), one column family (Family) per service.
// Store is thread-safe and owns the database and every Family; an Iterator or a WriteBatch
// belongs to its caller and is used by one thread at a time.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace sless::storage {

// One column family. Owned by the Store; the pointer stays valid until the Store is destroyed.
class Family;

struct Options {
  std::string dir;         // database directory, created if missing; ignored when in_memory
  bool in_memory = false;  // same engine on an in-memory file system; nothing survives the process
  // Families the caller will need: those missing are created together, in one step (one options
  // file written, not one per family), by create_families() or at the first write to any of them.
  std::vector<std::string> families;
  // Families whose keys mostly arrive in increasing order under a shared prefix, mapped to the
  // size of the suffix that follows it (a sequence number, a timestamp): the memtable remembers
  // where it last inserted under each prefix and starts the next insert's search there. A hint
  // only; any order of keys stays correct. Not for families of scattered keys (each prefix keeps
  // an entry per memtable).
  std::map<std::string, size_t, std::less<>> ordered_suffix;
};

// A cursor over the keys of one family within [lower, upper), in byte order. Unpositioned when
// created: call a seek first. key() and value() stay valid until the next move. Holding an
// iterator pins the data it can see, so keep it short-lived.
class Iterator {
 public:
  virtual ~Iterator() = default;

  virtual bool valid() const = 0;
  virtual void seek_to_first() = 0;
  virtual void seek_to_last() = 0;
  // First key >= key, and last key <= key.
  virtual void seek(std::string_view key) = 0;
  virtual void seek_for_prev(std::string_view key) = 0;
  virtual void next() = 0;
  virtual void prev() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Not ok when iteration stopped on an error rather than at the end of the range.
  virtual Status status() const = 0;
};

// Writes to one or more families that Store::write applies atomically: all or none, in order.
// A moved-from batch may only be assigned to or destroyed.
class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  void put(Family* family, std::string_view key, std::string_view value);
  void del(Family* family, std::string_view key);
  // Deletes every key in [begin, end).
  void delete_range(Family* family, std::string_view begin, std::string_view end);

  size_t count() const;  // operations recorded
  bool empty() const { return count() == 0; }
  void clear();

 private:
  friend class Store;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

class Store {
 public:
  // Opens (or creates) the database and every family it already has. Fails with a message
  // saying so when another process (or another Store) holds the same directory. A brand-new
  // database (an empty directory, or in memory) is created on a thread of its own after this
  // returns: until then every family reads as empty, which it is, and the first write waits.
  static Result<std::unique_ptr<Store>> open(const Options& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The family called name. A family is created in the database at its first write (until then
  // it reads as empty); a failure to create it (logged) fails that write. Never nullptr.
  Family* family(std::string_view name);
  // Creates the missing families of Options::families now (a daemon does it once it is ready,
  // so that start-up does not wait for them). Idempotent; waits if another thread is at it.
  void create_families();

  // Status::not_found() when the key is absent.
  Status get(Family* family, std::string_view key, std::string* value) const;
  Status put(Family* family, std::string_view key, std::string_view value);
  Status del(Family* family, std::string_view key);
  Status write(WriteBatch& batch);
  // An empty upper bound means no upper bound.
  std::unique_ptr<Iterator> iterate(Family* family, std::string_view lower, std::string_view upper) const;

  // Removes every key of the family; keys written while it runs may survive.
  Status clear(Family* family);
  // Moves every family's memtable to table files and syncs the log (graceful shutdown).
  Status flush();

  // When a write returns, its log record has reached the OS (a kill -9 keeps it), except on a
  // thread between hold_log() and release_log(): there the record waits in RocksDB's log buffer
  // for flush_log() (from any thread), so that the records of the writes an io thread makes for
  // a batch of requests go out in one system call before their answers do. release_log(true)
  // writes the buffer out at once (no answer is on its way to do it). Holds do not nest.
  void hold_log();
  void release_log(bool flush);
  Status flush_log();
  bool in_memory() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sless::storage
