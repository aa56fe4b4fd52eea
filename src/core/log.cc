#include "core/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <mutex>

#include "core/ascii.h"
#include "core/clock.h"
#include "core/fd_io.h"
#include "core/json_text.h"

namespace bulwark::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_fd{STDERR_FILENO};
std::mutex g_write_mu;
// Set by Silence: a command-line tool's warnings and errors go out as one human line each.
std::atomic<bool> g_human{false};

constexpr std::string_view LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

Status Init(Level min_level, const std::string& file_path) {
  g_min_level.store(static_cast<int>(min_level));
  g_human.store(false);
  if (file_path.empty()) {
    g_fd.store(STDERR_FILENO);
    return Status::Ok();
  }
  const int fd = ::open(file_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::FailedPrecondition("log_file_unwritable", "cannot open the log file for append");
  }
  const int old = g_fd.exchange(fd);
  if (old != STDERR_FILENO) ::close(old);
  return Status::Ok();
}

StatusOr<Level> ParseLevel(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  return Status::InvalidArgument("invalid_log_level", "log level must be debug, info, warn or error");
}

void Silence() {
  g_min_level.store(static_cast<int>(Level::kWarn));
  g_human.store(true);
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed); }

bool IsCredentialName(std::string_view name) {
  const std::string lower = core::AsciiLower(name);
  // Identifiers of credentials are fine to log; their values are not.
  for (std::string_view safe_suffix : {"_id", "_kind", "_prefix", "_version", "_source"}) {
    if (lower.size() > safe_suffix.size() && lower.ends_with(safe_suffix)) return false;
  }
  static constexpr std::array<std::string_view, 17> kMarkers = {
      "secret", "password", "passwd",  "token",   "credential", "authorization",
      "cookie", "private",  "seed",    "otp",     "api_key",    "apikey",
      "bearer", "jwt",      "session", "magic",   "recovery"};
  for (std::string_view m : kMarkers) {
    if (lower.find(m) != std::string::npos) return true;
  }
  return lower == "key" || lower.ends_with("_key") || lower.ends_with("-key") ||
         lower == "x-api-key" || lower == "x-vault-token";
}

std::string FormatLine(Level level, std::string_view event, Fields fields,
                       std::string_view request_id) {
  std::string line;
  line.reserve(160);
  line += "{\"ts\":\"";
  line += core::NowIso8601Micros();
  line += "\",\"level\":\"";
  line += LevelName(level);
  line += "\",\"event\":";
  core::AppendJsonString(line, event);
  if (!request_id.empty()) {
    line += ",\"request_id\":";
    core::AppendJsonString(line, request_id);
  }
  for (const Field& f : fields) {
    line.push_back(',');
    core::AppendJsonString(line, f.key);
    line.push_back(':');
    if (IsCredentialName(f.key) || std::holds_alternative<Redacted>(f.value)) {
      line += "\"[redacted]\"";
      continue;
    }
    std::visit(
        [&line](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            core::AppendJsonString(line, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            line += v ? "true" : "false";
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            line += std::to_string(v);
          } else if constexpr (std::is_same_v<T, double>) {
            if (!std::isfinite(v)) {  // JSON has no NaN or infinity
              line += "null";
              return;
            }
            char buf[32];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
            line.append(buf, ec == std::errc() ? end : buf);
          } else {
            line += "\"[redacted]\"";
          }
        },
        f.value);
  }
  line += "}\n";
  return line;
}

void Write(Level level, std::string_view event, Fields fields, std::string_view request_id) {
  if (!Enabled(level)) return;
  std::string line;
  if (g_human.load(std::memory_order_relaxed)) {
    // "bulwark: warning: EVENT: MESSAGE": the event and its message field only (never a value
    // a credential-named field holds).
    line = "bulwark: ";
    line += level == Level::kError ? "error: " : "warning: ";
    line += event;
    for (const Field& f : fields) {
      if (f.key == "message" && std::holds_alternative<std::string_view>(f.value)) {
        line += ": ";
        line += std::get<std::string_view>(f.value);
      }
    }
    line += '\n';
  } else {
    line = FormatLine(level, event, fields, request_id);
  }
  std::lock_guard<std::mutex> lock(g_write_mu);
  (void)core::WriteAll(g_fd.load(), line);  // logging must never take the process down
}

}  // namespace bulwark::log
