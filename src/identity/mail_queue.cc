#include "identity/mail_queue.h"

#include "core/log.h"
#include "core/thread_name.h"

namespace bulwark::identity {

MailQueue::MailQueue(std::shared_ptr<Mailer> mailer, std::size_t capacity)
    : mailer_(std::move(mailer)), capacity_(capacity), thread_([this] {
        core::NameThisThread("bw-mail");
        Run();
      }) {}

MailQueue::~MailQueue() { Stop(); }

bool MailQueue::Enqueue(MailMessage message, bool deliver) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= capacity_) {
      log::Warn("mail.dropped", {{"reason", stopping_ ? "stopping" : "queue_full"}});
      return false;
    }
    queue_.push_back({std::move(message), deliver});
  }
  cv_.notify_one();
  return true;
}

void MailQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void MailQueue::Run() {
  for (;;) {
    Queued m;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      m = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!m.deliver) continue;
    if (Status s = mailer_->Send(m.message); !s.ok()) {
      log::Warn("mail.send_failed", {{"reason", s.reason()}, {"message", s.message()}});
    }
  }
}

}  // namespace bulwark::identity
