#pragma once
// What /metrics and /readyz show of one audit export sink.
#include <cstdint>
#include <string>

namespace bulwark::audit::siem {

struct SinkState {
  std::string sink;       // "syslog", "file"
  std::int64_t lag = 0;   // ledger entries not yet confirmed delivered
  bool connected = false;
};

}  // namespace bulwark::audit::siem
