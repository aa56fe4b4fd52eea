// The process_* and bulwark_build_info series of /metrics, read from /proc.
#include "http/process_metrics.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <sstream>
#include <string>

namespace bulwark::http {
namespace {

// name -> value of every sample line; every series has its HELP and TYPE lines before it.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream lines(text);
  std::string last_type;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) {
      last_type = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.starts_with("#")) continue;
    const std::size_t sp = line.rfind(' ');
    const std::string name = line.substr(0, sp);
    EXPECT_TRUE(name.starts_with(last_type)) << line;
    out[name] = std::stod(line.substr(sp + 1));
  }
  return out;
}

TEST(ProcessMetricsTest, ValuesAreThisProcesss) {
  const std::string text = ProcessMetricsText();
  const std::map<std::string, double> s = Samples(text);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    EXPECT_TRUE(s.contains(name)) << name << " missing from\n" << text;
  }
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_open_fds gauge\n"), std::string::npos);

  EXPECT_GE(s.at("process_cpu_seconds_total"), 0.0);
  EXPECT_LT(s.at("process_cpu_seconds_total"), 3600.0);
  EXPECT_GT(s.at("process_resident_memory_bytes"), 1 << 20);  // a test binary holds > 1 MiB
  EXPECT_GE(s.at("process_virtual_memory_bytes"), s.at("process_resident_memory_bytes"));
  // Opening a descriptor shows.
  const double before = s.at("process_open_fds");
  EXPECT_GE(before, 3);
  const int fd = dup(0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Samples(ProcessMetricsText()).at("process_open_fds"), before + 1);
  close(fd);
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  EXPECT_EQ(s.at("process_max_fds"), static_cast<double>(lim.rlim_cur));
  // Started in the last hour, not in the future.
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(s.at("process_start_time_seconds"), now + 1);
  EXPECT_GT(s.at("process_start_time_seconds"), now - 3600);
}

TEST(ProcessMetricsTest, BuildInfoEscapesItsLabels) {
  EXPECT_EQ(BuildInfoMetricText("1.2.3", "abc123"),
            "# HELP bulwark_build_info The version and commit of this binary; always 1.\n"
            "# TYPE bulwark_build_info gauge\n"
            "bulwark_build_info{version=\"1.2.3\",commit=\"abc123\"} 1\n");
  EXPECT_NE(BuildInfoMetricText("a\"b\\c\nd", "x").find(R"(version="a\"b\\c\nd")"),
            std::string::npos);
}

}  // namespace
}  // namespace bulwark::http
