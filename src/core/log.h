#pragma once
// Structured logging: one JSON object per line, to stderr or a file.
//
//   log::Info("server.started", {{"listen", addr}, {"io_threads", n}});
//   log::Warn("config.dev_key_generated", {{"path", path}}, request_id);
//
// Line shape: {"ts":"2026-11-22T23:30:00.123456Z","level":"info","event":"server.started",
//              "request_id":"...","listen":"127.0.0.1:8200","io_threads":2}
//
// Secrets never reach a line: a field whose name looks like a credential (token, secret,
// password, key, authorization, cookie, ...) is written as "[redacted]" whatever its value, and
// SecretBytes cannot be a field value at all (it is written as "[redacted]" by construction).
// Control characters and invalid UTF-8 are escaped, so a value cannot forge a line.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "core/status.h"

namespace bulwark::crypto {
class SecretBytes;
}

namespace bulwark::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Redacted {};

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, unsigned v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, std::uint64_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  // A secret is accepted only to be written as "[redacted]".
  Field(std::string_view k, const crypto::SecretBytes&) : key(k), value(Redacted{}) {}

  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool, Redacted> value;
};

using Fields = std::initializer_list<Field>;

// Sets the minimum level and the destination (empty path: stderr). The file is opened
// O_APPEND with mode 0600. Fails if the file cannot be opened.
Status Init(Level min_level, const std::string& file_path);
StatusOr<Level> ParseLevel(std::string_view name);
// Turns debug and info off until the next Init, and writes warnings and errors as one human line
// each ("bulwark: warning: EVENT: MESSAGE", not JSON): a command-line tool other than `serve`
// writes its own human messages to stderr, its log lines only when asked (`bulwark --verbose
// ...`), and never hides what an operator has to act on.
void Silence();
bool Enabled(Level level);

// True for field names that must never carry a value in a log line.
bool IsCredentialName(std::string_view name);

// Formats one line (without writing it). Exposed for tests.
std::string FormatLine(Level level, std::string_view event, Fields fields,
                       std::string_view request_id);

void Write(Level level, std::string_view event, Fields fields, std::string_view request_id = {});

inline void Debug(std::string_view event, Fields fields = {}, std::string_view rid = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, event, fields, rid);
}
inline void Info(std::string_view event, Fields fields = {}, std::string_view rid = {}) {
  Write(Level::kInfo, event, fields, rid);
}
inline void Warn(std::string_view event, Fields fields = {}, std::string_view rid = {}) {
  Write(Level::kWarn, event, fields, rid);
}
inline void Error(std::string_view event, Fields fields = {}, std::string_view rid = {}) {
  Write(Level::kError, event, fields, rid);
}

}  // namespace bulwark::log
