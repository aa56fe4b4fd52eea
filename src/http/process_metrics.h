#pragma once
// The process and build series of /metrics, named as Prometheus's client libraries name them
// (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics), read from
// /proc at each scrape:
//   process_cpu_seconds_total        counter  user + system CPU time (/proc/self/stat)
//   process_resident_memory_bytes    gauge    resident set size (/proc/self/stat rss × page size)
//   process_virtual_memory_bytes     gauge    virtual memory size (/proc/self/stat vsize)
//   process_open_fds                 gauge    entries of /proc/self/fd
//   process_max_fds                  gauge    the soft limit on open files (RLIMIT_NOFILE)
//   process_start_time_seconds       gauge    start time, unix seconds (stat starttime + btime)
//   bulwark_build_info{version,commit} 1      what core/build_info.h says of this binary
// A value that cannot be read (no /proc) is left out, with its HELP and TYPE lines.
#include <string>
#include <string_view>

namespace bulwark::http {

// The exposition text (format 0.0.4) of the process series above.
std::string ProcessMetricsText();

// bulwark_build_info with its HELP and TYPE lines, the label values escaped as the format says.
std::string BuildInfoMetricText(std::string_view version, std::string_view commit);

}  // namespace bulwark::http
