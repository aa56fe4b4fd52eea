#include "http/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace bulwark::http {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool HasLine(const std::string& text, const std::string& line) {
  for (const std::string& l : Lines(text)) {
    if (l == line) return true;
  }
  return false;
}

// The value of the sample whose name+labels part is exactly `series`, or -1.
double Sample(const std::string& text, const std::string& series) {
  for (const std::string& l : Lines(text)) {
    if (l.size() > series.size() && l.starts_with(series) && l[series.size()] == ' ') {
      return std::stod(l.substr(series.size() + 1));
    }
  }
  return -1;
}

class HttpMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { m_.SetRoutes({"GET /livez", "POST /api/v1/tenants"}); }
  Metrics m_;
};

TEST_F(HttpMetricsTest, RequestCountersByRouteAndStatus) {
  for (int i = 0; i < 3; ++i) m_.RecordRequest(0, 200, 1ms);
  m_.RecordRequest(1, 201, 1ms);
  m_.RecordRequest(1, 400, 1ms);
  m_.RecordRequest(Metrics::kUnmatched, 404, 1ms);
  const std::string out = m_.Render();
  EXPECT_TRUE(HasLine(out, R"(bulwark_http_requests_total{route="GET /livez",status="200"} 3)")) << out;
  EXPECT_TRUE(HasLine(out, R"(bulwark_http_requests_total{route="POST /api/v1/tenants",status="201"} 1)"));
  EXPECT_TRUE(HasLine(out, R"(bulwark_http_requests_total{route="POST /api/v1/tenants",status="400"} 1)"));
  EXPECT_TRUE(HasLine(out, R"(bulwark_http_requests_total{route="unmatched",status="404"} 1)"));
  // Zero series are not rendered.
  EXPECT_EQ(out.find(R"(route="GET /livez",status="404")"), std::string::npos);
  EXPECT_TRUE(HasLine(out, "# TYPE bulwark_http_requests_total counter"));
  EXPECT_TRUE(HasLine(out, "# TYPE bulwark_http_request_duration_seconds histogram"));
}

TEST_F(HttpMetricsTest, HistogramIsCumulativeAndEndsWithInfEqualToCount) {
  m_.RecordRequest(0, 200, 200us);   // <= 0.0005
  m_.RecordRequest(0, 200, 3ms);     // <= 0.005
  m_.RecordRequest(0, 200, 700ms);   // <= 1
  m_.RecordRequest(0, 200, 20s);     // above every finite bucket
  const std::string out = m_.Render();
  const std::string prefix = R"(bulwark_http_request_duration_seconds_bucket{route="GET /livez",le=")";
  EXPECT_EQ(Sample(out, prefix + R"(0.0005"})"), 1);
  EXPECT_EQ(Sample(out, prefix + R"(0.001"})"), 1);
  EXPECT_EQ(Sample(out, prefix + R"(0.005"})"), 2);
  EXPECT_EQ(Sample(out, prefix + R"(0.5"})"), 2);
  EXPECT_EQ(Sample(out, prefix + R"(1"})"), 3);
  EXPECT_EQ(Sample(out, prefix + R"(10"})"), 3);
  EXPECT_EQ(Sample(out, prefix + R"(+Inf"})"), 4);
  EXPECT_EQ(Sample(out, R"(bulwark_http_request_duration_seconds_count{route="GET /livez"})"), 4);
  EXPECT_NEAR(Sample(out, R"(bulwark_http_request_duration_seconds_sum{route="GET /livez"})"),
              20.7032, 1e-6);

  // Walk every bucket line of the route: non-decreasing, the last is +Inf and equals _count.
  std::vector<std::string> buckets;
  for (const std::string& l : Lines(out)) {
    if (l.starts_with(prefix)) buckets.push_back(l);
  }
  ASSERT_EQ(buckets.size(), 15u);
  double prev = 0;
  for (const std::string& b : buckets) {
    const double v = std::stod(b.substr(b.rfind(' ') + 1));
    EXPECT_GE(v, prev) << b;
    prev = v;
  }
  EXPECT_TRUE(buckets.back().starts_with(prefix + "+Inf")) << buckets.back();
  EXPECT_EQ(prev, 4);
  // A route with no requests has no histogram.
  EXPECT_EQ(out.find(R"(_bucket{route="POST /api/v1/tenants")"), std::string::npos);
}

TEST_F(HttpMetricsTest, InFlightGaugeAndRateLimitedCounter) {
  m_.RequestStarted();
  m_.RequestStarted();
  m_.RequestStarted();
  m_.RequestFinished();
  m_.RateLimited();
  m_.RateLimited();
  m_.ConnectionOpened();
  m_.ConnectionRejected();
  EXPECT_EQ(m_.in_flight(), 2);
  const std::string out = m_.Render();
  EXPECT_TRUE(HasLine(out, "bulwark_http_requests_in_flight 2")) << out;
  EXPECT_TRUE(HasLine(out, "# TYPE bulwark_http_requests_in_flight gauge"));
  EXPECT_TRUE(HasLine(out, "bulwark_http_rate_limited_total 2"));
  EXPECT_TRUE(HasLine(out, "# TYPE bulwark_http_rate_limited_total counter"));
  EXPECT_TRUE(HasLine(out, "bulwark_http_connections 1"));
  EXPECT_TRUE(HasLine(out, "bulwark_http_connections_rejected_total 1"));
}

TEST_F(HttpMetricsTest, OutOfRangeRouteIndexIsIgnored) {
  m_.RecordRequest(7, 200, 1ms);
  const std::string out = m_.Render();
  EXPECT_EQ(out.find("bulwark_http_requests_total{"), std::string::npos) << out;
}

TEST(HttpMetricsLabelTest, LabelValuesAreEscaped) {
  Metrics m;
  m.SetRoutes({"GET /a\"b\\c\nd"});
  m.RecordRequest(0, 200, 1ms);
  const std::string out = m.Render();
  EXPECT_TRUE(HasLine(out, R"(bulwark_http_requests_total{route="GET /a\"b\\c\nd",status="200"} 1)"))
      << out;
  EXPECT_TRUE(HasLine(out, R"(bulwark_http_request_duration_seconds_count{route="GET /a\"b\\c\nd"} 1)"));
}

TEST(HttpMetricsLabelTest, EveryLineIsCommentOrSample) {
  Metrics m;
  m.SetRoutes({"GET /livez"});
  m.RecordRequest(0, 200, 1ms);
  for (const std::string& l : Lines(m.Render())) {
    ASSERT_FALSE(l.empty());
    if (l[0] == '#') {
      EXPECT_TRUE(l.starts_with("# HELP ") || l.starts_with("# TYPE ")) << l;
      continue;
    }
    EXPECT_TRUE(l.starts_with("bulwark_")) << l;
    EXPECT_NE(l.rfind(' '), std::string::npos) << l;
  }
}

}  // namespace
}  // namespace bulwark::http
