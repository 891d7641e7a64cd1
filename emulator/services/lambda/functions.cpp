// Function documents: loading, saving, code snapshots, name and qualifier resolution, and the
// runtime configurations the function host runs.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <minizip/unzip.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/clock.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "host/watcher.h"
#include "services/lambda/internal.h"
#include "services/registry.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::lambda {

namespace fs = std::filesystem;
using nlohmann::json;
namespace key = storage::key;

std::string function_arn(const std::string& region, const std::string& account, const std::string& name) {
  return ids::arn("lambda", region, account, "function:" + name);
}

ServiceError function_not_found(const std::string& arn) {
  return ServiceError("ResourceNotFoundException", "Function not found: " + arn, 404);
}

ServiceError invalid_parameter(std::string message) {
  return ServiceError("InvalidParameterValueException", std::move(message), 400);
}

std::string lambda_timestamp(int64_t ms) {
  // 2024-05-01T12:34:56.789+0000
  std::string iso = timefmt::iso8601_ms(ms);
  return iso.substr(0, iso.size() - 1) + "+0000";
}

FunctionRef parse_function_ref(const std::string& text) {
  FunctionRef ref;
  std::string s = text;
  if (s.rfind("arn:", 0) == 0) {
    // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
      size_t colon = s.find(':', start);
      parts.push_back(s.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (parts.size() >= 7 && parts[2] == "lambda" && parts[5] == "function") {
      ref.region = parts[3];
      ref.account = parts[4];
      ref.name = parts[6];
      if (parts.size() >= 8) ref.qualifier = parts[7];
      ref.valid = !ref.name.empty() && parts.size() <= 8;
    }
    return ref;
  }
  // <account>:function:<name>[:<qualifier>] or <name>[:<qualifier>]
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = s.find(':', start);
    parts.push_back(s.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() >= 3 && parts[1] == "function") {
    ref.account = parts[0];
    ref.name = parts[2];
    if (parts.size() >= 4) ref.qualifier = parts[3];
    ref.valid = !ref.name.empty() && parts.size() <= 4;
  } else if (parts.size() <= 2) {
    ref.name = parts[0];
    if (parts.size() == 2) ref.qualifier = parts[1];
    ref.valid = !ref.name.empty();
  }
  return ref;
}

std::string LambdaService::doc_key(const std::string& account, const std::string& region, const std::string& name) const {
  return key::KeyBuilder(account, region).str("fn").str(name).take();
}

Status LambdaService::save(const Function& fn) {
  const json& d = fn.doc;
  return env_->store->put(family_, doc_key(d["account"], d["region"], d["name"]), d.dump());
}

Status LambdaService::remove(const Function& fn) {
  const json& d = fn.doc;
  return env_->store->del(family_, doc_key(d["account"], d["region"], d["name"]));
}

Status LambdaService::load_all() {
  // Every function document: scan the whole family for "fn" keys (there are few).
  auto it = env_->store->iterate(family_, "", "");
  for (it->seek_to_first(); it->valid(); it->next()) {
    std::string_view k = it->key();
    std::string account, region, tag;
    if (!key::read_string(k, &account) || !key::read_string(k, &region) || !key::read_string(k, &tag) || tag != "fn") {
      continue;
    }
    auto fn = std::make_shared<Function>();
    fn->doc = json::parse(it->value(), nullptr, false);
    if (fn->doc.is_discarded()) continue;
    refresh_configs(*fn);
    std::string name = fn->doc["name"];
    functions_[account + "/" + region + "/" + name] = fn;
    if (fn->doc["code"].contains("watch")) {  // mu_ is held by start()
      std::string path = fn->doc["code"]["watch"];
      watched_[path].insert(account + "/" + region + "/" + name);
      watcher()->watch(path);
    }
  }
  return it->status();
}

std::shared_ptr<Function> LambdaService::find(const std::string& account, const std::string& region,
                                              const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = functions_.find(account + "/" + region + "/" + name);
  return it == functions_.end() ? nullptr : it->second;
}

std::shared_ptr<const host::FunctionConfig> LambdaService::make_config(const json& doc, const std::string& version,
                                                                        const json& snapshot) {
  const json& c = snapshot["config"];
  auto cfg = std::make_shared<host::FunctionConfig>();
  cfg->account = doc["account"];
  cfg->region = doc["region"];
  cfg->name = doc["name"];
  cfg->arn = function_arn(cfg->region, cfg->account, cfg->name);
  cfg->version = version;
  cfg->plugin_path = snapshot["code"]["path"];
  cfg->handler = c.value("Handler", "");
  cfg->memory_mb = c.value("MemorySize", 128);
  cfg->timeout_s = c.value("Timeout", 3);
  cfg->reserved_concurrency = doc.value("concurrency", json()).is_number() ? doc["concurrency"].get<int>() : -1;
  if (c.contains("Environment") && c["Environment"].contains("Variables")) {
    for (const auto& [k, v] : c["Environment"]["Variables"].items()) cfg->environment.emplace_back(k, v.get<std::string>());
  }
  cfg->endpoint = doc.value("endpoint", "");
  cfg->key = cfg->arn + ":" + version + ":" + c.value("RevisionId", "") + ":" +
             std::to_string(cfg->reserved_concurrency);
  return cfg;
}

void LambdaService::refresh_configs(Function& fn) {
  fn.configs.clear();
  fn.configs["$LATEST"] = make_config(fn.doc, "$LATEST", fn.doc);
  if (fn.doc.contains("versions")) {
    for (const auto& [v, snap] : fn.doc["versions"].items()) fn.configs[v] = make_config(fn.doc, v, snap);
  }
}

namespace {

// Lambda's limit on the unzipped size of a deployment package.
constexpr uint64_t kMaxUnzippedBytes = 262144000;

// A zip archive read by minizip straight from memory: the callbacks below serve its reads from
// the uploaded bytes (minizip's own I/O goes through FILE*).
struct MemoryZip {
  const std::string_view* bytes;
  uint64_t pos = 0;
};

voidpf ZCALLBACK zip_open(voidpf opaque, const void*, int) { return opaque; }

uLong ZCALLBACK zip_read(voidpf, voidpf stream, void* buf, uLong size) {
  auto* z = static_cast<MemoryZip*>(stream);
  const uint64_t left = z->pos < z->bytes->size() ? z->bytes->size() - z->pos : 0;
  const uLong n = static_cast<uLong>(std::min<uint64_t>(size, left));
  std::memcpy(buf, z->bytes->data() + z->pos, n);
  z->pos += n;
  return n;
}

uLong ZCALLBACK zip_write(voidpf, voidpf, const void*, uLong) { return 0; }

ZPOS64_T ZCALLBACK zip_tell(voidpf, voidpf stream) { return static_cast<MemoryZip*>(stream)->pos; }

long ZCALLBACK zip_seek(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
  auto* z = static_cast<MemoryZip*>(stream);
  uint64_t base = 0;
  switch (origin) {
    case ZLIB_FILEFUNC_SEEK_SET: base = 0; break;
    case ZLIB_FILEFUNC_SEEK_CUR: base = z->pos; break;
    case ZLIB_FILEFUNC_SEEK_END: base = z->bytes->size(); break;
    default: return -1;
  }
  if (offset > z->bytes->size() || base > z->bytes->size() - offset) return -1;
  z->pos = base + offset;
  return 0;
}

int ZCALLBACK zip_close(voidpf, voidpf) { return 0; }
int ZCALLBACK zip_error(voidpf, voidpf) { return 0; }

bool is_plugin(std::string_view bytes) { return bytes.starts_with("\x7f" "ELF"); }

// The plugin inside a zipped deployment package: its one .so (or the one the handler names).
Outcome<std::string> plugin_from_zip(std::string_view bytes, const std::string& handler) {
  const auto unreadable = [] {
    return invalid_parameter("Could not unzip uploaded file. Please check your file, then try to upload again.");
  };
  if (bytes.size() < 4 || !bytes.starts_with("PK")) return unreadable();
  MemoryZip source{&bytes};
  zlib_filefunc64_def io{zip_open, zip_read, zip_write, zip_tell, zip_seek, zip_close, zip_error, &source};
  unzFile za = unzOpen2_64("package.zip", &io);
  if (!za) return unreadable();
  struct Entry {
    std::string name;
    unz64_file_pos pos;
    uint64_t size;
  };
  std::vector<Entry> plugins;
  bool intact = true;
  for (int rc = unzGoToFirstFile(za); rc == UNZ_OK; rc = unzGoToNextFile(za)) {
    unz_file_info64 info;
    std::array<char, 1024> name{};
    if (unzGetCurrentFileInfo64(za, &info, name.data(), name.size() - 1, nullptr, 0, nullptr, 0) != UNZ_OK) {
      intact = false;
      break;
    }
    Entry e{name.data(), {}, info.uncompressed_size};
    if (enc::ends_with(e.name, ".so") && unzGetFilePos64(za, &e.pos) == UNZ_OK) plugins.push_back(std::move(e));
  }
  if (!intact) {
    unzClose(za);
    return unreadable();
  }
  const Entry* chosen = nullptr;
  if (plugins.size() == 1) {
    chosen = &plugins[0];
  } else {
    for (const auto& e : plugins) {
      std::string base = fs::path(e.name).filename().string();
      if (base == handler + ".so" || base == "lib" + handler + ".so") chosen = &e;
    }
  }
  Outcome<std::string> result = invalid_parameter(
      plugins.empty() ? "The deployment package contains no .so plugin (build one with sless_add_function)"
                      : "The deployment package contains several .so plugins; name one lib<Handler>.so");
  if (chosen) {
    unz64_file_pos pos = chosen->pos;
    if (chosen->size > kMaxUnzippedBytes) {
      result = invalid_parameter("Unzipped size must be smaller than " + std::to_string(kMaxUnzippedBytes) + " bytes");
    } else if (unzGoToFilePos64(za, &pos) == UNZ_OK && unzOpenCurrentFile(za) == UNZ_OK) {
      std::string out(chosen->size, '\0');
      uint64_t got = 0;
      while (got < out.size()) {
        const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(out.size() - got, 1u << 20));
        const int n = unzReadCurrentFile(za, out.data() + got, chunk);
        if (n <= 0) break;
        got += static_cast<uint64_t>(n);
      }
      // Closing checks the entry's CRC once all of it was read.
      const bool crc_ok = unzCloseCurrentFile(za) == UNZ_OK;
      if (got == out.size() && crc_ok) {
        result = std::move(out);
      } else {
        result = unreadable();
      }
    } else {
      result = unreadable();
    }
  }
  unzClose(za);
  return result;
}

// A deployment package's bytes: uploaded ones, or a local file mapped read-only (a plugin of a
// few MB is hashed and copied to the code store without first being read into fresh memory).
class Package {
 public:
  Package() = default;
  explicit Package(std::string bytes) : owned_(std::move(bytes)), view_(owned_) {}
  Package(const Package&) = delete;
  Package& operator=(const Package&) = delete;
  Package(Package&& o) noexcept { *this = std::move(o); }
  ~Package() {
    if (map_ != nullptr) munmap(map_, view_.size());
  }
  Package& operator=(Package&& o) noexcept {
    std::swap(owned_, o.owned_);
    std::swap(map_, o.map_);
    std::swap(view_, o.view_);
    std::swap(identity_, o.identity_);
    if (map_ == nullptr) view_ = owned_;
    if (o.map_ == nullptr) o.view_ = o.owned_;
    return *this;
  }
  // Maps `path`; false if it cannot be opened or mapped.
  bool map(const fs::path& path) {
    identity_.clear();
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    void* m = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      m = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    }
    close(fd);
    if (m == MAP_FAILED) return false;
    identity_ = std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':' + std::to_string(st.st_size) + ':' +
                std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec);
    map_ = m;
    view_ = std::string_view(static_cast<const char*>(m), static_cast<size_t>(st.st_size));
    return true;
  }
  std::string_view view() const { return view_; }
  // The mapped file's device, inode, size and modification time; empty for bytes in memory.
  const std::string& identity() const { return identity_; }

 private:
  std::string owned_;
  std::string identity_;
  void* map_ = nullptr;
  std::string_view view_;
};

Outcome<Package> read_local(const std::string& path, std::string* resolved) {
  std::error_code ec;
  fs::path p(path);
  if (fs::is_directory(p, ec)) {
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(p, ec)) {
      if (e.path().extension() == ".so") found.push_back(e.path());
    }
    if (found.size() != 1) {
      return invalid_parameter("The directory " + path + " must contain exactly one .so plugin");
    }
    p = found[0];
  }
  Package bytes;
  if (!bytes.map(p)) return invalid_parameter("Cannot read the function code at " + path);
  *resolved = fs::absolute(p).lexically_normal().string();
  return bytes;
}

}  // namespace

Outcome<json> LambdaService::store_code(const json& code, const std::string& handler, RequestContext& ctx) {
  Package package;
  std::string watch;
  if (code.contains("ImageUri")) {
    return invalid_parameter("sless runs functions as C++ plugins: container images are not supported");
  }
  if (code.contains("ZipFile")) {
    auto decoded = enc::base64_decode(code["ZipFile"].get<std::string>());
    if (!decoded) return invalid_parameter("ZipFile is not valid base64");
    package = Package(std::move(*decoded));
  } else if (code.contains("S3Bucket") && code.contains("S3Key")) {
    std::string bucket = code["S3Bucket"];
    std::string key_name = code["S3Key"];
    if (bucket == kHotReloadBucket) {
      // Development mode: the "key" is a local path, watched for changes.
      std::string resolved;
      auto bytes = read_local(key_name, &resolved);
      if (!bytes.ok()) return std::move(bytes).error();
      package = std::move(bytes).value();
      watch = key_name;
    } else {
      std::optional<Outcome<protocol::OperationOutput>> got;
      json params{{"Bucket", bucket}, {"Key", key_name}};
      if (code.contains("S3ObjectVersion")) params["VersionId"] = code["S3ObjectVersion"];
      env_->registry->call("s3", "GetObject", params, ctx, [&](Outcome<protocol::OperationOutput> o) { got = std::move(o); });
      if (!got) return ServiceError::internal("S3 did not answer in-process");
      if (!got->ok()) {
        return invalid_parameter("Error occurred while GetObject. S3 Error Code: " + got->error().code +
                                 ". S3 Error Message: " + got->error().message);
      }
      auto& out = got->value();
      std::string bytes;
      if (out.raw_payload) {
        bytes = std::move(*out.raw_payload);
      } else if (out.payload_source) {
        bytes.resize(out.payload_source->size());
        size_t n = 0;
        while (n < bytes.size()) {
          int64_t r = out.payload_source->read(bytes.data() + n, bytes.size() - n);
          if (r <= 0) break;
          n += static_cast<size_t>(r);
        }
        bytes.resize(n);
      }
      package = Package(std::move(bytes));
    }
  } else {
    return invalid_parameter("Please provide a source for function code.");
  }
  const std::string_view bytes = package.view();
  std::string digest;
  const std::string& local_key = package.identity();  // empty for uploaded bytes
  if (!local_key.empty()) {
    std::lock_guard lock(digests_mu_);
    if (auto it = local_digests_.find(local_key); it != local_digests_.end()) digest = it->second;
  }
  if (digest.empty()) {
    digest = crypto::sha256(bytes);
    if (!local_key.empty()) {
      std::lock_guard lock(digests_mu_);
      if (local_digests_.size() >= 256) local_digests_.clear();  // bounded: a cache, not a record
      local_digests_.emplace(local_key, digest);
    }
  }
  std::string sha = enc::base64_encode(digest);
  size_t size = bytes.size();
  // A bare plugin is its own package; a zip holds it.
  std::string unzipped;
  if (!is_plugin(bytes)) {
    auto plugin = plugin_from_zip(bytes, handler);
    if (!plugin.ok()) return std::move(plugin).error();
    unzipped = std::move(plugin).value();
  }
  const std::string_view plugin = unzipped.empty() ? bytes : std::string_view(unzipped);
  std::string hex = enc::hex_encode(unzipped.empty() ? digest : crypto::sha256(plugin));
  fs::path path = fs::path(code_dir_) / (hex + ".so");
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fs::path tmp = path;
    tmp += ".tmp." + ids::random_hex(8);
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f.write(plugin.data(), static_cast<std::streamsize>(plugin.size()));
      if (!f) return ServiceError::internal("cannot write the function code snapshot");
    }
    fs::permissions(tmp, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec, ec);
    fs::rename(tmp, path, ec);
    if (ec) return ServiceError::internal("cannot store the function code: " + ec.message());
  }
  json out{{"path", path.string()}, {"sha256", sha}, {"size", size}};
  if (!watch.empty()) out["watch"] = watch;
  return out;
}

Outcome<LambdaService::Resolved> LambdaService::resolve(const std::string& account, const std::string& region,
                                                        const std::string& name_or_arn, const std::string& qualifier) {
  FunctionRef ref = parse_function_ref(name_or_arn);
  if (!ref.valid) return ServiceError("ValidationException", "Invalid function name or ARN: " + name_or_arn, 400);
  std::string acct = ref.account.empty() ? account : ref.account;
  std::string reg = ref.region.empty() ? region : ref.region;
  std::string q = ref.qualifier;
  if (!qualifier.empty()) {
    if (!q.empty() && q != qualifier) {
      return invalid_parameter("The derived qualifier from the function name does not match the specified qualifier.");
    }
    q = qualifier;
  }
  auto fn = find(acct, reg, ref.name);
  std::string arn = function_arn(reg, acct, ref.name);
  if (!fn) return function_not_found(arn);
  Resolved r;
  r.function = fn;
  std::lock_guard lock(fn->mu);
  r.invoked_arn = q.empty() ? arn : arn + ":" + q;
  std::string version = q.empty() ? "$LATEST" : q;
  if (!q.empty() && q != "$LATEST" && !std::all_of(q.begin(), q.end(), ::isdigit)) {
    auto alias = fn->doc["aliases"].find(q);
    if (alias == fn->doc["aliases"].end()) {
      return ServiceError("ResourceNotFoundException", "Alias not found: " + arn + ":" + q, 404);
    }
    r.alias = q;
    version = (*alias)["FunctionVersion"];
    // Weighted routing to an additional version.
    if (alias->contains("RoutingConfig") && (*alias)["RoutingConfig"].contains("AdditionalVersionWeights")) {
      thread_local std::mt19937 rng{std::random_device{}()};
      double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      for (const auto& [v, w] : (*alias)["RoutingConfig"]["AdditionalVersionWeights"].items()) {
        double weight = w.get<double>();
        if (roll < weight) {
          version = v;
          break;
        }
        roll -= weight;
      }
    }
  }
  auto cfg = fn->configs.find(version);
  if (cfg == fn->configs.end()) return function_not_found(arn + ":" + version);
  r.version = version;
  r.config = cfg->second;
  return r;
}

void LambdaService::watch_code(const std::string& account, const std::string& region, const std::string& name,
                               const std::string& path) {
  std::lock_guard lock(mu_);
  watched_[path].insert(account + "/" + region + "/" + name);
  watcher()->watch(path);
}

host::FileWatcher* LambdaService::watcher() {
  // The watcher thread starts with the first hot-reloaded function.
  if (!watcher_) {
    watcher_ = std::make_unique<host::FileWatcher>([this](const std::string& path) {
      if (!stopping_.load()) env_->scheduler->post([this, path] { on_code_changed(path); });
    });
  }
  return watcher_.get();
}

// Hot reload: the watched plugin changed. Snapshot it, check that it loads (a warm worker of the
// new code), then switch $LATEST to it; if it does not load, the old code keeps serving.
void LambdaService::on_code_changed(const std::string& path) {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mu_);
    auto it = watched_.find(path);
    if (it == watched_.end()) return;
    keys.assign(it->second.begin(), it->second.end());
  }
  for (const auto& k : keys) {
    std::shared_ptr<Function> fn;
    {
      std::lock_guard lock(mu_);
      auto it = functions_.find(k);
      if (it == functions_.end()) continue;
      fn = it->second;
    }
    RequestContext ctx;
    json code_params;
    std::string handler;
    {
      std::lock_guard lock(fn->mu);
      ctx.account = fn->doc["account"];
      ctx.region = fn->doc["region"];
      code_params = json{{"S3Bucket", kHotReloadBucket}, {"S3Key", path}};
      handler = fn->doc["config"].value("Handler", "");
    }
    auto code = store_code(code_params, handler, ctx);
    if (!code.ok()) {
      log::warn("hot reload of {} failed, the old code keeps serving: {}", path, code.error().message);
      continue;
    }
    json candidate;
    {
      std::lock_guard lock(fn->mu);
      if (fn->doc["code"].value("path", "") == code.value()["path"]) continue;  // same bytes
      candidate = fn->doc;
    }
    candidate["code"] = code.value();
    candidate["config"]["CodeSha256"] = code.value()["sha256"];
    candidate["config"]["CodeSize"] = code.value()["size"];
    candidate["config"]["RevisionId"] = ids::uuid();
    candidate["config"]["LastModified"] = lambda_timestamp(env_->clock->now_ms());
    auto cfg = make_config(candidate, "$LATEST", candidate);
    probe(cfg, [this, fn, candidate, path](std::optional<std::string> error) mutable {
      if (error) {
        log::warn("hot reload of {}: the new plugin does not load, the old code keeps serving: {}", path, *error);
        return;
      }
      std::string old_key;
      {
        std::lock_guard lock(fn->mu);
        old_key = fn->configs["$LATEST"]->key;
        fn->doc["code"] = candidate["code"];
        fn->doc["config"] = candidate["config"];
        refresh_configs(*fn);
        if (Status st = save(*fn); !st.is_ok()) log::error("saving {} failed: {}", path, st.to_string());
      }
      host_->retire(old_key);
      log::info("hot reload: {} now runs the new code from {}", fn->doc["name"].get<std::string>(), path);
    });
  }
}

void LambdaService::prove(std::shared_ptr<const host::FunctionConfig> cfg,
                          std::function<void(std::optional<std::string>)> done) {
  std::string key = cfg->plugin_path + '\n' + cfg->handler + '\n' + std::to_string(cfg->memory_mb);
  for (const auto& [name, value] : cfg->environment) key.append("\n").append(name).append("=").append(value);
  {
    std::unique_lock lock(proofs_mu_);
    if (proven_.contains(key)) {
      lock.unlock();
      done(std::nullopt);
      return;
    }
    auto [waiting, first] = proving_.try_emplace(key);
    waiting->second.push_back(std::move(done));
    if (!first) return;  // the proof under way answers this one too
  }
  probe(std::move(cfg), [this, key](std::optional<std::string> error) {
    std::vector<std::function<void(std::optional<std::string>)>> waiting;
    {
      std::lock_guard lock(proofs_mu_);
      if (!error) proven_.insert(key);
      auto it = proving_.find(key);
      if (it != proving_.end()) {
        waiting = std::move(it->second);
        proving_.erase(it);
      }
    }
    for (auto& w : waiting) w(error);
  });
}

// Starts a worker for `cfg` and reports whether the plugin loads; the worker stays warm.
void LambdaService::probe(std::shared_ptr<const host::FunctionConfig> cfg,
                          std::function<void(std::optional<std::string>)> done) {
  host_->warm(cfg, [done = std::move(done)](std::optional<std::string> error) { done(std::move(error)); });
}

}  // namespace sless::services::lambda
