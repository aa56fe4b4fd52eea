#pragma once
// What the CLI says about itself, generated from its CLI11 tree so it cannot drift from it:
// the nearest command or option to a mistyped one, the bash completion script and the man page.
//
//   Nearest("serv", {"serve", "config"})         -> "serve"
//   std::cout << BashCompletion(app);            // `bulwark completion bash`
//   std::cout << ManPage(app, "2026-12-07");     // `bulwark man`, roff for man(7)
#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::cli {

// Levenshtein distance (insertions, deletions, substitutions), bytewise.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word` when it is near enough to be what was meant (a prefix of
// exactly one candidate, or at most 2 edits, or a third of its length); "" otherwise.
std::string Nearest(std::string_view word, const std::vector<std::string>& candidates);

// "bulwark audit verify" for the `verify` subcommand of `audit`.
std::string CommandPath(const CLI::App* app);

// Every subcommand of `app` (parsed or not), in the order they were added.
std::vector<CLI::App*> AllSubcommands(const CLI::App* app);

// The long and short option names `app` accepts ("--data", "-V"), positionals excluded.
std::vector<std::string> OptionNames(const CLI::App* app);

// A bash completion script for the whole tree: `complete -F _bulwark bulwark`.
std::string BashCompletion(const CLI::App& root);

// The man page (section 1) of the whole tree, in roff with the man macros. `date` is the
// .TH date (the build time, so the output is reproducible for one binary).
std::string ManPage(const CLI::App& root, std::string_view date);

}  // namespace bulwark::cli
