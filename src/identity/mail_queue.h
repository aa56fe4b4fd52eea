#pragma once
// Sends mail off the request path. A magic-link request answers at once whether or not the
// address is known, so how long SMTP takes must not show in its timing: the handler only
// enqueues, and a single thread delivers. Bounded: when full, a message is dropped and logged
// (without its content, which holds a credential).
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "identity/mailer.h"

namespace bulwark::identity {

class MailQueue {
 public:
  explicit MailQueue(std::shared_ptr<Mailer> mailer, std::size_t capacity = 1000);
  ~MailQueue();  // Stop()
  MailQueue(const MailQueue&) = delete;
  MailQueue& operator=(const MailQueue&) = delete;

  // False when the queue is full or stopped (the message is dropped). A message queued with
  // `deliver` false is a decoy: queued and taken off the queue like any other, then dropped
  // unsent, so a caller that must cost the same whether or not it has mail to send (a sign-in
  // request for an unknown address) does the same work either way.
  bool Enqueue(MailMessage message, bool deliver = true);
  // Delivers what is queued (each message once), then stops the thread.
  void Stop();

 private:
  void Run();

  std::shared_ptr<Mailer> mailer_;
  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  struct Queued {
    MailMessage message;
    bool deliver = true;
  };
  std::deque<Queued> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bulwark::identity
