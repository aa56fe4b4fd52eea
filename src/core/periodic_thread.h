#pragma once
// A thread of its own that runs one pass of some work at once and then every `interval`, until
// Stop() (or destruction). For the in-server verifiers of the ledger and of the receipt chains.
//
//   class Checker {
//     ...
//     core::PeriodicThread thread_{"bw-check", interval, [this] { Pass(); }};  // declared last
//   };
//
// Declare it after every member the pass uses: members are destroyed in reverse order, so the
// thread is stopped (its pass in progress finished) before anything it touches goes away.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace bulwark::core {

class PeriodicThread {
 public:
  PeriodicThread(std::string name, std::chrono::milliseconds interval, std::function<void()> pass);
  ~PeriodicThread();  // Stop()
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // Returns once the thread has ended: a pass in progress finishes first. Idempotent.
  void Stop();

 private:
  void Run();

  const std::string name_;
  const std::chrono::milliseconds interval_;
  const std::function<void()> pass_;
  std::mutex mu_;  // guards stop_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: started once everything above is set
};

}  // namespace bulwark::core
