// docs/configuration.md documents exactly the settings the code accepts.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "core/config.h"

namespace {

std::string ReadDoc() {
  std::ifstream in(std::string(BULWARK_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DocsConfigurationTest, EverySettingIsDocumented) {
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty());
  const auto settings = bulwark::core::AllSettings();
  ASSERT_GT(settings.size(), 20u);
  for (const auto& s : settings) {
    EXPECT_NE(doc.find("`" + s.key + "`"), std::string::npos) << s.key << " is not in docs/configuration.md";
  }
}

TEST(DocsConfigurationTest, SecretEnvironmentVariablesAreDocumented) {
  const std::string doc = ReadDoc();
  for (const auto& s : bulwark::core::AllSettings()) {
    if (s.type.find("secret") == std::string::npos) continue;
    EXPECT_NE(doc.find("`" + s.env + "`"), std::string::npos) << s.env;
  }
}

TEST(DocsConfigurationTest, NoDocumentedSettingIsUnknown) {
  // Rows of the settings table: "| `key` | type | ...".
  const std::string doc = ReadDoc();
  std::set<std::string> known;
  for (const auto& s : bulwark::core::AllSettings()) known.insert(s.key);
  const std::regex row(R"(\n\| `([a-z_]+(\.[a-z_]+)*)` \| (string|integer|boolean|list))");
  int rows = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it) {
    ++rows;
    EXPECT_TRUE(known.count((*it)[1].str())) << (*it)[1].str() << " is documented but not a setting";
  }
  EXPECT_GT(rows, 20);
}

}  // namespace
