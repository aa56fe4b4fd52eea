#pragma once
// What /metrics and /readyz show of one audit export sink.
#include <cstdint>
#include <string>

namespace bulwark::audit::siem {

struct SinkState {
  std::string sink;       // "syslog", "file"
  std::int64_t lag = 0;   // ledger entries not yet confirmed delivered (by whichever node exports)
  bool connected = false;
  // This node holds the sink's lease (exporter.h): it is the one exporting.
  bool active = false;
};

}  // namespace bulwark::audit::siem
