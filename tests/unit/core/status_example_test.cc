// The example in core/status.h's header comment, compiled and run; the test also holds the
// comment equal to the code below, so the header never shows code that does not build.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark {
namespace {

// --- begin example (the same lines as in core/status.h) ---
StatusOr<int> ParsePort(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("invalid_port", "the port is empty");
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Status::InvalidArgument("invalid_port", "not a number");
    port = port * 10 + (c - '0');
    if (port > 65535) return Status::InvalidArgument("invalid_port", "over 65535");
  }
  return port;
}

Status AddPort(std::string_view text, std::vector<int>& ports) {
  StatusOr<int> port = ParsePort(text);
  if (!port.ok()) return port.status();  // propagate
  ports.push_back(*port);
  return Status::Ok();
}

Status AddPorts(std::string_view a, std::string_view b, std::vector<int>& ports) {
  BULWARK_RETURN_IF_ERROR(AddPort(a, ports));  // the same, as a macro
  BULWARK_ASSIGN_OR_RETURN(int port, ParsePort(b));
  ports.push_back(port);
  return Status::Ok();
}
// --- end example ---

TEST(StatusExampleTest, Runs) {
  std::vector<int> ports;
  ASSERT_TRUE(AddPorts("8200", "443", ports).ok());
  EXPECT_EQ(ports, (std::vector<int>{8200, 443}));

  const Status bad = AddPorts("80", "x1", ports);
  EXPECT_EQ(bad.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.reason(), "invalid_port");
  EXPECT_EQ(bad.message(), "not a number");
  EXPECT_EQ(AddPort("", ports).message(), "the port is empty");
  EXPECT_EQ(AddPort("70000", ports).message(), "over 65535");
  EXPECT_EQ(ports, (std::vector<int>{8200, 443, 80}));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The header's example, without its comment markers, is this file's example verbatim.
TEST(StatusExampleTest, HeaderShowsThisCode) {
  const std::string header = ReadFile(std::string(BULWARK_SOURCE_DIR) + "/src/core/status.h");
  const std::string self = ReadFile(std::string(BULWARK_SOURCE_DIR) + "/tests/unit/core/status_example_test.cc");
  ASSERT_FALSE(header.empty());
  ASSERT_FALSE(self.empty());
  std::string from_header;
  std::istringstream lines(header);
  bool in_example = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("// Example")) {
      in_example = true;
      continue;
    }
    if (!in_example) continue;
    if (line == "//") {
      from_header += "\n";
    } else if (line.starts_with("//   ")) {
      from_header += line.substr(5) + "\n";
    } else {
      break;
    }
  }
  while (from_header.ends_with("\n\n")) from_header.pop_back();
  const std::string begin = "// --- begin example (the same lines as in core/status.h) ---\n";
  const std::size_t b = self.find(begin);
  const std::size_t e = self.find("// --- end example ---");
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(self.substr(b + begin.size(), e - b - begin.size()), from_header);
}

}  // namespace
}  // namespace bulwark
