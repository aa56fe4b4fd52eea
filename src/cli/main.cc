// bulwark: the single binary. Each command group registers its subcommands (src/cli/commands.h);
// they parse their flags there and hand off to src/app, src/audit and src/receipts.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

extern char** environ;

int main(int argc, char** argv) {
  CLI::App app{"Bulwark: the security core for multi-tenant platforms"};
  bulwark::cli::Context ctx;
  ctx.sources.environ = environ;
  bulwark::cli::CommandTable table;
  bulwark::cli::SetUpRoot(app, ctx);
  bulwark::cli::AddServerCommands(app, ctx, table);
  bulwark::cli::AddTenantCommands(app, ctx, table);
  bulwark::cli::AddDevCommands(app, ctx, table);
  bulwark::cli::AddKeyCommands(app, ctx, table);
  bulwark::cli::AddAuditCommands(app, ctx, table);
  bulwark::cli::AddDocCommands(app, ctx, table);  // last: help, completion and man read the tree
  return bulwark::cli::Main(app, ctx, table, argc, argv);
}
