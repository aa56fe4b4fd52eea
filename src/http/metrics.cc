#include "http/metrics.h"

#include <cstdio>

namespace bulwark::http {
namespace {

void AppendLabelValue(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
}

std::string FormatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void Metrics::SetRoutes(std::vector<std::string> route_labels) {
  labels_ = std::move(route_labels);
  stats_.reset(new RouteStats[labels_.size() + 1]);
}

void Metrics::RecordRequest(std::size_t route_index, unsigned status,
                            std::chrono::nanoseconds latency) {
  const std::size_t slot = route_index == kUnmatched ? labels_.size() : route_index;
  if (slot > labels_.size()) return;
  RouteStats& s = stats_[slot];
  if (status >= 100 && status < 600) {
    s.by_status[status - 100].fetch_add(1, std::memory_order_relaxed);
  }
  const double secs = std::chrono::duration<double>(latency).count();
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (secs <= kBuckets[i]) {
      s.buckets[i].fetch_add(1, std::memory_order_relaxed);
      break;  // cumulated at render time
    }
  }
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(4096);
  out += "# HELP bulwark_http_requests_total HTTP requests by route and status code.\n";
  out += "# TYPE bulwark_http_requests_total counter\n";
  auto label_of = [&](std::size_t slot) {
    return slot == labels_.size() ? std::string("unmatched") : labels_[slot];
  };
  for (std::size_t slot = 0; slot <= labels_.size(); ++slot) {
    for (std::size_t code = 0; code < 500; ++code) {
      const auto n = stats_[slot].by_status[code].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "bulwark_http_requests_total{route=\"";
      AppendLabelValue(out, label_of(slot));
      out += "\",status=\"" + std::to_string(code + 100) + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP bulwark_http_request_duration_seconds Time from request start to response.\n";
  out += "# TYPE bulwark_http_request_duration_seconds histogram\n";
  for (std::size_t slot = 0; slot <= labels_.size(); ++slot) {
    const RouteStats& s = stats_[slot];
    const auto count = s.count.load(std::memory_order_relaxed);
    if (count == 0) continue;
    std::string route_label = "route=\"";
    AppendLabelValue(route_label, label_of(slot));
    route_label += "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += s.buckets[i].load(std::memory_order_relaxed);
      out += "bulwark_http_request_duration_seconds_bucket{" + route_label + ",le=\"" +
             FormatDouble(kBuckets[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "bulwark_http_request_duration_seconds_bucket{" + route_label + ",le=\"+Inf\"} " +
           std::to_string(count) + "\n";
    out += "bulwark_http_request_duration_seconds_sum{" + route_label + "} " +
           FormatDouble(static_cast<double>(s.sum_ns.load(std::memory_order_relaxed)) / 1e9) + "\n";
    out += "bulwark_http_request_duration_seconds_count{" + route_label + "} " +
           std::to_string(count) + "\n";
  }
  out += "# HELP bulwark_http_requests_in_flight Requests being processed now.\n";
  out += "# TYPE bulwark_http_requests_in_flight gauge\n";
  out += "bulwark_http_requests_in_flight " + std::to_string(in_flight()) + "\n";
  out += "# HELP bulwark_http_rate_limited_total Requests refused by a rate limit.\n";
  out += "# TYPE bulwark_http_rate_limited_total counter\n";
  out += "bulwark_http_rate_limited_total " +
         std::to_string(rate_limited_.load(std::memory_order_relaxed)) + "\n";
  out += "# HELP bulwark_http_connections Open client connections.\n";
  out += "# TYPE bulwark_http_connections gauge\n";
  out += "bulwark_http_connections " + std::to_string(connections()) + "\n";
  out += "# HELP bulwark_http_connections_rejected_total Connections closed at accept: limit reached.\n";
  out += "# TYPE bulwark_http_connections_rejected_total counter\n";
  out += "bulwark_http_connections_rejected_total " +
         std::to_string(connections_rejected_.load(std::memory_order_relaxed)) + "\n";
  out += "# HELP bulwark_http_client_connections_rejected_total Connections closed at accept: "
         "the client's network held server.max_connections_per_client.\n";
  out += "# TYPE bulwark_http_client_connections_rejected_total counter\n";
  out += "bulwark_http_client_connections_rejected_total " +
         std::to_string(client_connections_rejected_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

}  // namespace bulwark::http
