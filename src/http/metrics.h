#pragma once
// Request metrics in Prometheus text format (exposition format 0.0.4), lock-free on the request
// path: every counter is a relaxed atomic in a table sized when the routes are known.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bulwark::http {

class Metrics {
 public:
  // `labels[i]` names route i ("GET /livez"); one more slot counts unmatched requests.
  // Called once, after the routes are known and before the first request.
  void SetRoutes(std::vector<std::string> route_labels);

  static constexpr std::size_t kUnmatched = static_cast<std::size_t>(-1);

  void RecordRequest(std::size_t route_index, unsigned status, std::chrono::nanoseconds latency);
  void RequestStarted() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void RequestFinished() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
  void RateLimited() { rate_limited_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionOpened() { connections_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionClosed() { connections_.fetch_sub(1, std::memory_order_relaxed); }
  void ConnectionRejected() { connections_rejected_.fetch_add(1, std::memory_order_relaxed); }
  // A connection closed at accept because its client network held its share already.
  void ClientConnectionRejected() { client_connections_rejected_.fetch_add(1, std::memory_order_relaxed); }

  std::int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::int64_t connections() const { return connections_.load(std::memory_order_relaxed); }

  std::string Render() const;

 private:
  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,  0.1,    0.25,  0.5,
                                                      1,      2.5,   5,      10};
  struct RouteStats {
    std::array<std::atomic<std::uint64_t>, 500> by_status{};  // index: status - 100
    std::array<std::atomic<std::uint64_t>, kBuckets.size()> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  std::vector<std::string> labels_;
  std::unique_ptr<RouteStats[]> stats_{new RouteStats[1]};  // labels_.size() + 1 (unmatched last)
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> connections_{0};
  std::atomic<std::uint64_t> rate_limited_{0};
  std::atomic<std::uint64_t> connections_rejected_{0};
  std::atomic<std::uint64_t> client_connections_rejected_{0};
};

}  // namespace bulwark::http
