// The suggestions, completion script and man page the CLI generates from its command tree.
#include "cli/docs.h"

#include <gtest/gtest.h>

namespace bulwark::cli {
namespace {

TEST(CliDocsTest, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("serve", "serve"), 0u);
  EXPECT_EQ(EditDistance("serv", "serve"), 1u);
  EXPECT_EQ(EditDistance("verfy", "verify"), 1u);
  EXPECT_EQ(EditDistance("--dta", "--data"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
}

TEST(CliDocsTest, NearestSuggestsOnlyWhatIsCloseEnough) {
  const std::vector<std::string> cmds{"serve", "config", "tenant", "key", "audit", "receipt"};
  EXPECT_EQ(Nearest("serv", cmds), "serve");
  EXPECT_EQ(Nearest("tenent", cmds), "tenant");
  EXPECT_EQ(Nearest("rec", cmds), "receipt");  // the one command it begins
  EXPECT_EQ(Nearest("xyzzy", cmds), "");
  EXPECT_EQ(Nearest("", cmds), "");
  EXPECT_EQ(Nearest("--dta", {"--data", "--dev", "--config"}), "--data");
  EXPECT_EQ(Nearest("--bogus", {"--data", "--dev", "--config"}), "");
}

TEST(CliDocsTest, CompletionAndManPageCoverEveryCommandAndOption) {
  CLI::App app{"Test tool"};
  app.name("bulwark");
  CLI::App* audit = app.add_subcommand("audit", "Audit tools");
  CLI::App* verify = audit->add_subcommand("verify", "Check the ledger");
  std::string data;
  bool dev = false;
  verify->add_option("--data", data, "Data directory (a .dir, with a \\ backslash)");
  verify->add_flag("--dev", dev, "Dev mode");
  EXPECT_EQ(CommandPath(verify), "bulwark audit verify");

  const std::string bash = BashCompletion(app);
  EXPECT_NE(bash.find("'/audit/verify') words='--help -h --data --dev'"), std::string::npos) << bash;
  EXPECT_NE(bash.find("'/audit/verify:--data') COMPREPLY=($(compgen -f"), std::string::npos) << bash;
  EXPECT_NE(bash.find("complete -F _bulwark bulwark\n"), std::string::npos);

  const std::string man = ManPage(app, "2026-12-07");
  EXPECT_EQ(man.rfind(".\\\" Generated", 0), 0u);
  EXPECT_NE(man.find(".TH BULWARK 1 \"2026-12-07\""), std::string::npos);
  EXPECT_NE(man.find(".SS bulwark audit verify [OPTIONS]\n"), std::string::npos) << man;
  EXPECT_NE(man.find("\\fB\\-\\-data\\fR \\fIDATA\\fR\n"), std::string::npos) << man;
  // Roff escapes: a backslash is \e; a '.' starting a line would be a request.
  EXPECT_NE(man.find("with a \\e backslash"), std::string::npos) << man;
  EXPECT_NE(man.find(".SH EXIT STATUS"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::cli
