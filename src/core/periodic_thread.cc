#include "core/periodic_thread.h"

#include <utility>

#include "core/thread_name.h"

namespace bulwark::core {

PeriodicThread::PeriodicThread(std::string name, std::chrono::milliseconds interval,
                               std::function<void()> pass)
    : name_(std::move(name)), interval_(interval), pass_(std::move(pass)), thread_([this] { Run(); }) {}

PeriodicThread::~PeriodicThread() { Stop(); }

void PeriodicThread::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicThread::Run() {
  NameThisThread(name_.c_str());
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    pass_();
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

}  // namespace bulwark::core
