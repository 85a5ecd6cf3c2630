// Manual pages and shell completion, generated from the command line's own
// definition (the CLI11 tree that --help prints), so they cannot drift from
// it: each command's options, arguments and descriptions are read from the
// same objects.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace bpfsign::cli {

struct ManPage {
  std::string file;  // "bpfsign.1", "bpfsign-sign.1", "bpfsign-keyring-add.1"
  std::string text;  // roff
};

// bpfsign(1) and one page per command and subcommand.
std::vector<ManPage> man_pages(const CLI::App& root);

// A bash completion script: commands, subcommands, options, and the values
// of --scheme and --algorithm.
std::string bash_completion(const CLI::App& root);

}  // namespace bpfsign::cli
