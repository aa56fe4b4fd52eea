// Parsing the command line and running the command: usage errors with a suggestion, help,
// version, completion and the man page.
#include <algorithm>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/docs.h"
#include "core/build_info.h"
#include "core/log.h"

namespace bulwark::cli {
namespace {

// The deepest subcommand the parser reached.
CLI::App* Deepest(CLI::App* app) {
  for (CLI::App* sub : app->get_subcommands()) return Deepest(sub);
  return app;
}

// The first word no command of the chain accepted (an unknown command, option or argument).
std::string FirstUnknown(CLI::App* root, const CLI::ParseError& e) {
  for (CLI::App* a = Deepest(root); a != nullptr; a = a->get_parent()) {
    const std::vector<std::string> rest = a->remaining();
    if (!rest.empty()) return rest.front();
  }
  // An option given to a group before its subcommand ("audit --x verify") is reported only in
  // the message: "The following argument was not expected: --x".
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const std::string what = e.what();
    const std::size_t colon = what.find(": ");
    if (colon != std::string::npos) {
      const std::string words = what.substr(colon + 2);
      return words.substr(0, words.find(' '));
    }
  }
  return {};
}

std::vector<std::string> SubcommandNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : AllSubcommands(app)) names.push_back(sub->get_name());
  return names;
}

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

int UsageError(const CLI::App* where, const std::string& what, const std::string& nearest) {
  std::cerr << CommandPath(where) << ": " << what;
  if (!nearest.empty()) std::cerr << "; did you mean " << Quoted(nearest) << "?";
  const std::string path = CommandPath(where);
  const std::size_t sp = path.find(' ');
  std::cerr << "\nRun 'bulwark help" << (sp == std::string::npos ? "" : path.substr(sp))
            << "' for usage.\n";
  return kExitUsage;
}

int ReportParseError(CLI::App& root, const CLI::ParseError& e) {
  CLI::App* where = Deepest(&root);
  const std::string unknown = FirstUnknown(&root, e);
  if (!unknown.empty()) {
    if (unknown.size() > 1 && unknown[0] == '-') {
      const std::string name = unknown.substr(0, unknown.find('='));
      for (const CLI::App* a = where->get_parent(); a != nullptr; a = a->get_parent()) {
        const std::vector<std::string> own = OptionNames(a);
        if (std::find(own.begin(), own.end(), name) != own.end()) {
          return UsageError(where,
                            "option " + Quoted(name) + " belongs before the command: " +
                                Quoted(CommandPath(a) + " " + name + " " +
                                       CommandPath(where).substr(CommandPath(a).size() + 1) +
                                       " ..."),
                            "");
        }
      }
      std::vector<std::string> candidates;
      for (const CLI::App* a = where; a != nullptr; a = a->get_parent()) {
        const std::vector<std::string> more = OptionNames(a);
        candidates.insert(candidates.end(), more.begin(), more.end());
      }
      return UsageError(where, "unknown option " + Quoted(name), Nearest(name, candidates));
    }
    const std::vector<std::string> subs = SubcommandNames(where);
    if (!subs.empty()) {
      return UsageError(where, "unknown command " + Quoted(unknown), Nearest(unknown, subs));
    }
    return UsageError(where, "unexpected argument " + Quoted(unknown), "");
  }
  if (std::string(e.what()).rfind("A subcommand is required", 0) == 0) {
    std::string list;
    for (const std::string& n : SubcommandNames(where)) list += (list.empty() ? "" : ", ") + n;
    return UsageError(where, "a command is required: " + list, "");
  }
  return UsageError(where, e.what(), "");
}

}  // namespace

void AddDocCommands(CLI::App& app, Context& ctx, CommandTable& table) {
  auto words = std::make_shared<std::vector<std::string>>();
  CLI::App* help = app.add_subcommand("help", "Print the help of bulwark or of a command");
  help->add_option("command", *words, "The command, e.g. `audit verify`");
  table.Add(help, [&ctx, words] {
    CLI::App* at = ctx.root;
    for (const std::string& w : *words) {
      CLI::App* next = nullptr;
      for (CLI::App* sub : AllSubcommands(at)) {
        if (sub->get_name() == w) next = sub;
      }
      if (next == nullptr) {
        return UsageError(at, "unknown command " + Quoted(w), Nearest(w, SubcommandNames(at)));
      }
      at = next;
    }
    // Not at->help(): that describes the parsed subcommand (this `help` one) instead.
    std::cout << at->get_formatter()->make_help(at, CommandPath(at), CLI::AppFormatMode::Normal);
    return kExitOk;
  });

  auto shell = std::make_shared<std::string>();
  CLI::App* completion = app.add_subcommand(
      "completion", "Print a shell completion script: `bulwark completion bash > FILE`");
  completion->add_option("shell", *shell, "The shell (bash)")
      ->required()
      ->check(CLI::IsMember({"bash"}));
  table.Add(completion, [&ctx, shell] {  // owns what the option writes into
    (void)shell;
    std::cout << BashCompletion(*ctx.root);
    return kExitOk;
  });

  CLI::App* man = app.add_subcommand(
      "man", "Print the man page (roff), generated from this help: `bulwark man | man -l -`");
  table.Add(man, [&ctx] {
    std::cout << ManPage(*ctx.root, std::string(build::kBuildTime).substr(0, 10));
    return kExitOk;
  });
}

int Main(CLI::App& app, Context& ctx, const CommandTable& table, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::ParseError& e) {
    return ReportParseError(app, e);
  }
  const CommandTable::Entry* entry = table.Parsed();
  if (entry == nullptr) return UsageError(&app, "a command is required", "");
  if (!entry->options.logs && !ctx.verbose) log::Silence();
  return entry->run();
}

}  // namespace bulwark::cli
