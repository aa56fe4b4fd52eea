#pragma once
// A task on a thread of its own, run again each time it is poked: for work the io threads must
// not wait for (a reload after SIGHUP, whose password KDF takes a while; a reload another node's
// change triggered). Poke() and Stop() are thread-safe; `fn` runs on the task's thread only, one
// run at a time. The task owns its thread; the destructor stops it.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/thread_name.h"

namespace bulwark::app {

// Runs `fn` on its own thread each time it is poked; pokes while it runs coalesce into one more
// run. Stop() waits for a run in progress.
class BackgroundTask {
 public:
  explicit BackgroundTask(std::function<void()> fn)
      : fn_(std::move(fn)), thread_([this] {
          core::NameThisThread("bw-task");
          Run();
        }) {}
  ~BackgroundTask() { Stop(); }
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;

  void Poke() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = true;
    }
    cv_.notify_one();
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return pending_ || stopping_; });
      if (stopping_) return;
      pending_ = false;
      lock.unlock();
      fn_();
      lock.lock();
    }
  }

  std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is initialised
};


}  // namespace bulwark::app
