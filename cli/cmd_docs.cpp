// bpfsign man --output-dir DIR | bpfsign completion bash
// The manual pages and the shell completion, generated from this command
// line's own definition (command_docs.hpp): packages install their output.
#include <filesystem>
#include <span>

#include <fmt/core.h>

#include "bpfsign/common/file_io.hpp"
#include "command_docs.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

struct DocsOptions {
  std::string output_dir;
  std::string shell;
  bool force = false;
};

int write_man_pages(const CLI::App& root, const DocsOptions& opt) {
  std::error_code ec;
  std::filesystem::create_directories(opt.output_dir, ec);
  if (ec) return report(io_error("{}: cannot create the directory: {}", opt.output_dir, ec.message()));
  const auto pages = man_pages(root);
  for (const auto& page : pages) {
    const std::filesystem::path path = std::filesystem::path(opt.output_dir) / page.file;
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(page.text.data()), page.text.size());
    if (auto s = write_file_atomic(path, bytes, 0644, opt.force ? Existing::Replace : Existing::Keep); !s) return report(s.error());
  }
  print_line("wrote {} manual pages to {}", pages.size(), opt.output_dir);
  return kExitOk;
}

}  // namespace

void register_docs(CLI::App& app, Action& action) {
  auto opt = std::make_shared<DocsOptions>();
  const CLI::App* root = &app;
  auto* man = app.add_subcommand("man", "Write the manual pages (bpfsign.1 and one per command), generated from this command line");
  man->add_option("--output-dir", opt->output_dir, "Directory to write the pages to")->required();
  man->add_flag("--force", opt->force, "Replace pages that exist");
  man->callback([&action, opt, root] { action = [opt, root] { return write_man_pages(*root, *opt); }; });

  auto* completion = app.add_subcommand("completion", "Print the shell completion script (commands, options, scheme names)");
  completion->add_option("shell", opt->shell, "The shell: bash")->required()->check(CLI::IsMember({"bash"}));
  completion->callback([&action, root] {
    action = [root] {
      fmt::print("{}", bash_completion(*root));
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace bpfsign::cli
