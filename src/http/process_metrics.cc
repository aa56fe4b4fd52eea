#include "http/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <vector>

namespace bulwark::http {
namespace {

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<std::uint64_t> ParseU64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses,
// so the split starts after the last ')'): element 0 is field 3, "state" (proc(5)).
std::vector<std::string> StatFields() {
  std::optional<std::string> stat = ReadFile("/proc/self/stat");
  if (!stat) return {};
  const std::size_t close = stat->rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat->substr(close + 1));
  return {std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
}

std::optional<std::uint64_t> StatField(const std::vector<std::string>& fields, std::size_t number) {
  if (number < 3 || number - 3 >= fields.size()) return std::nullopt;
  return ParseU64(fields[number - 3]);
}

// The boot time, unix seconds ("btime" in /proc/stat).
std::optional<std::uint64_t> BootTime() {
  std::optional<std::string> stat = ReadFile("/proc/stat");
  if (!stat) return std::nullopt;
  std::istringstream lines(*stat);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("btime ")) return ParseU64(std::string_view(line).substr(6));
  }
  return std::nullopt;
}

std::optional<std::uint64_t> OpenFds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return std::nullopt;
  std::uint64_t n = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++n;
  }
  return n;
}

std::string Number(double v) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out.precision(17);
  out << v;
  return out.str();
}

void Series(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::string& value) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(value).append("\n");
}

// A label value as the text format writes it: backslash, double quote and newline escaped.
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string ProcessMetricsText() {
  std::string out;
  const std::vector<std::string> stat = StatFields();
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  const std::optional<std::uint64_t> utime = StatField(stat, 14);
  const std::optional<std::uint64_t> stime = StatField(stat, 15);
  if (utime && stime && ticks > 0) {
    Series(out, "process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.",
           Number(static_cast<double>(*utime + *stime) / static_cast<double>(ticks)));
  }
  if (const auto vsize = StatField(stat, 23)) {
    Series(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
           std::to_string(*vsize));
  }
  if (const auto rss = StatField(stat, 24); rss && page > 0) {
    Series(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           std::to_string(*rss * static_cast<std::uint64_t>(page)));
  }
  if (const auto fds = OpenFds()) {
    Series(out, "process_open_fds", "gauge", "Number of open file descriptors.",
           std::to_string(*fds));
  }
  if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    Series(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
           std::to_string(static_cast<std::uint64_t>(lim.rlim_cur)));
  }
  const std::optional<std::uint64_t> start = StatField(stat, 22);
  const std::optional<std::uint64_t> boot = BootTime();
  if (start && boot && ticks > 0) {
    Series(out, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.",
           Number(static_cast<double>(*boot) +
                  static_cast<double>(*start) / static_cast<double>(ticks)));
  }
  return out;
}

std::string BuildInfoMetricText(std::string_view version, std::string_view commit) {
  std::string out =
      "# HELP bulwark_build_info The version and commit of this binary; always 1.\n"
      "# TYPE bulwark_build_info gauge\n";
  out += "bulwark_build_info{version=\"" + LabelValue(version) + "\",commit=\"" +
         LabelValue(commit) + "\"} 1\n";
  return out;
}

}  // namespace bulwark::http
