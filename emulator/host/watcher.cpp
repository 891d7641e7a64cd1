#include "host/watcher.h"

#include <uv.h>

#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/log.h"

namespace sless::host {

namespace fs = std::filesystem;

struct FileWatcher::Impl {
  struct Dir {
    uv_fs_event_t handle;
    Impl* impl;
    std::string dir;
    std::map<std::string, uv_timer_t*> files;  // file name → debounce timer
  };

  Callback on_change;
  int debounce_ms;
  uv_loop_t loop;
  uv_async_t wake;
  std::thread thread;
  std::mutex mu;
  std::deque<std::pair<bool, std::string>> requests;  // (watch?, path)
  bool stopping = false;
  std::map<std::string, Dir*> dirs;

  static void on_wake(uv_async_t* a) {
    auto* self = static_cast<Impl*>(a->data);
    std::deque<std::pair<bool, std::string>> todo;
    bool stop;
    {
      std::lock_guard lock(self->mu);
      todo.swap(self->requests);
      stop = self->stopping;
    }
    if (stop) {
      self->close_all();
      return;
    }
    for (auto& [add, path] : todo) add ? self->add(path) : self->remove(path);
  }

  static void on_timer(uv_timer_t* t) {
    auto* path = static_cast<std::string*>(t->data);
    auto* self = static_cast<Impl*>(t->loop->data);
    self->on_change(*path);
  }

  static void on_event(uv_fs_event_t* h, const char* filename, int, int status) {
    auto* d = static_cast<Dir*>(h->data);
    if (status < 0) return;
    std::string name = filename ? filename : "";
    for (auto& [file, timer] : d->files) {
      if (!name.empty() && name != file) continue;
      uv_timer_stop(timer);
      uv_timer_start(timer, on_timer, static_cast<uint64_t>(d->impl->debounce_ms), 0);
    }
  }

  void add(const std::string& path) {
    fs::path p = fs::absolute(path).lexically_normal();
    std::string dir = p.parent_path().string();
    std::string file = p.filename().string();
    Dir*& d = dirs[dir];
    if (!d) {
      d = new Dir();
      d->impl = this;
      d->dir = dir;
      uv_fs_event_init(&loop, &d->handle);
      d->handle.data = d;
      if (int rc = uv_fs_event_start(&d->handle, on_event, dir.c_str(), 0); rc != 0) {
        log::warn("cannot watch {} for hot reload: {}", dir, uv_strerror(rc));
      }
    }
    if (d->files.count(file)) return;
    auto* timer = new uv_timer_t;
    uv_timer_init(&loop, timer);
    timer->data = new std::string(path);
    d->files[file] = timer;
  }

  static void free_timer(uv_handle_t* h) {
    delete static_cast<std::string*>(h->data);
    delete reinterpret_cast<uv_timer_t*>(h);
  }

  void remove(const std::string& path) {
    fs::path p = fs::absolute(path).lexically_normal();
    auto it = dirs.find(p.parent_path().string());
    if (it == dirs.end()) return;
    Dir* d = it->second;
    auto f = d->files.find(p.filename().string());
    if (f == d->files.end()) return;
    uv_timer_stop(f->second);
    uv_close(reinterpret_cast<uv_handle_t*>(f->second), free_timer);
    d->files.erase(f);
    if (d->files.empty()) {
      uv_fs_event_stop(&d->handle);
      uv_close(reinterpret_cast<uv_handle_t*>(&d->handle), [](uv_handle_t* h) { delete static_cast<Dir*>(h->data); });
      dirs.erase(it);
    }
  }

  void close_all() {
    for (auto& [_, d] : dirs) {
      for (auto& [__, t] : d->files) {
        uv_timer_stop(t);
        uv_close(reinterpret_cast<uv_handle_t*>(t), free_timer);
      }
      uv_fs_event_stop(&d->handle);
      uv_close(reinterpret_cast<uv_handle_t*>(&d->handle), [](uv_handle_t* h) { delete static_cast<Dir*>(h->data); });
    }
    dirs.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
  }
};

FileWatcher::FileWatcher(Callback on_change, int debounce_ms) : impl_(std::make_unique<Impl>()) {
  impl_->on_change = std::move(on_change);
  impl_->debounce_ms = debounce_ms;
  uv_loop_init(&impl_->loop);
  impl_->loop.data = impl_.get();
  uv_async_init(&impl_->loop, &impl_->wake, Impl::on_wake);
  impl_->wake.data = impl_.get();
  impl_->thread = std::thread([this] { uv_run(&impl_->loop, UV_RUN_DEFAULT); });
}

FileWatcher::~FileWatcher() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  uv_async_send(&impl_->wake);
  if (impl_->thread.joinable()) impl_->thread.join();
  uv_loop_close(&impl_->loop);
}

void FileWatcher::watch(const std::string& path) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->requests.emplace_back(true, path);
  }
  uv_async_send(&impl_->wake);
}

void FileWatcher::unwatch(const std::string& path) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->requests.emplace_back(false, path);
  }
  uv_async_send(&impl_->wake);
}

}  // namespace sless::host
