// docs/configuration.md documents exactly the settings the code accepts.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "config/config.h"

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
  const auto settings = bulwark::config::AllSettings();
  ASSERT_GT(settings.size(), 20u);
  for (const auto& s : settings) {
    EXPECT_NE(doc.find("`" + s.key + "`"), std::string::npos) << s.key << " is not in docs/configuration.md";
  }
}

TEST(DocsConfigurationTest, SecretEnvironmentVariablesAreDocumented) {
  const std::string doc = ReadDoc();
  for (const auto& s : bulwark::config::AllSettings()) {
    if (s.type.find("secret") == std::string::npos) continue;
    EXPECT_NE(doc.find("`" + s.env + "`"), std::string::npos) << s.env;
  }
}

TEST(DocsConfigurationTest, NoDocumentedSettingIsUnknown) {
  // Rows of the settings table: "| `key` | type | ...".
  const std::string doc = ReadDoc();
  std::set<std::string> known;
  for (const auto& s : bulwark::config::AllSettings()) known.insert(s.key);
  const std::regex row(R"(\n\| `([a-z_]+(\.[a-z_]+)*)` \| (string|integer|boolean|list))");
  int rows = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it) {
    ++rows;
    EXPECT_TRUE(known.count((*it)[1].str())) << (*it)[1].str() << " is documented but not a setting";
  }
  EXPECT_GT(rows, 20);
}

// Each row's type and default column say what the code does: "| `key` | type | default | ...".
// A string default is written `value` or, when unset, in parentheses ("(unset)", "(stderr)");
// an integer's cell starts with its digits ("0 (= cores)"); a list with no default is "[]" and
// one filled in by the code at run time says so in parentheses ("(defaults)").
TEST(DocsConfigurationTest, EveryRowsTypeAndDefaultAreTheCodes) {
  const std::string doc = ReadDoc();
  std::map<std::string, bulwark::config::SettingInfo> by_key;
  for (const auto& s : bulwark::config::AllSettings()) by_key[s.key] = s;
  const std::regex row(R"(\n\| `([a-z_]+(?:\.[a-z_]+)*)` \| ([^|]+) \| ([^|]+) \|)");
  int checked = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it) {
    const auto found = by_key.find((*it)[1].str());
    if (found == by_key.end()) continue;  // not a settings row (NoDocumentedSettingIsUnknown)
    const bulwark::config::SettingInfo& s = found->second;
    const std::string type = (*it)[2].str();
    const std::string def = (*it)[3].str();
    SCOPED_TRACE(s.key + ": documented as \"" + type + "\", default \"" + def + "\"");
    ++checked;
    if (s.type.starts_with("secret")) continue;
    if (s.type == "list of strings") {
      EXPECT_TRUE(type.starts_with("list")) << "the code's type is " << s.type;
      if (s.default_value == "[]") {
        EXPECT_TRUE(def == "[]" || def.starts_with("(")) << "the code's default is []";
      } else {
        EXPECT_EQ(def, s.default_value);
      }
      continue;
    }
    EXPECT_EQ(type, s.type);
    if (s.type == "integer") {
      EXPECT_EQ(def.substr(0, def.find(' ')), s.default_value);
    } else if (s.type == "boolean") {
      if (!s.default_value.empty()) {
        EXPECT_EQ(def, s.default_value);
      }
    } else if (s.default_value.empty()) {
      EXPECT_TRUE(def.starts_with("(")) << "the code's default is unset";
    } else {
      EXPECT_EQ(def, "`" + s.default_value + "`");
    }
  }
  EXPECT_GT(checked, 40);
}

}  // namespace
