#pragma once
// Wall-clock time in the one format Bulwark stores and logs: UTC ISO-8601 with microseconds.
#include <chrono>
#include <cstdint>
#include <string>

namespace bulwark::core {

// "2026-11-22T23:30:00.123456Z" for the given instant.
std::string FormatIso8601Micros(std::chrono::system_clock::time_point t);

// The current time, formatted as above.
std::string NowIso8601Micros();

// Microseconds since the Unix epoch, now.
std::int64_t NowUnixMicros();

// Seconds since the Unix epoch, now (token expiry, TOTP steps).
std::int64_t NowUnixSeconds();

}  // namespace bulwark::core
