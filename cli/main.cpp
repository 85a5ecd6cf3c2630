// bpfsign: sign, load, verify and audit eBPF loader programs.
#include <exception>

#include <fmt/core.h>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

int main(int argc, char** argv) {
  using namespace bpfsign::cli;
  CLI::App app{"bpfsign: signed eBPF loading, portable across kernels, and auditable"};
  app.name("bpfsign");
  app.require_subcommand(1);
  app.fallthrough(false);

  Action action;
  register_disasm(app, action);
  register_object(app, action);
  register_keygen(app, action);
  register_sign(app, action);
  register_verify(app, action);
  register_keyring(app, action);
  register_reproduce(app, action);
  register_inspect(app, action);
  register_load(app, action);
  register_boot(app, action);
  register_gate(app, action);
  register_gen(app, action);
  register_probe(app, action);
  register_version(app, action);
  register_docs(app, action);

  // Name an unknown command plainly rather than as a stray positional.
  if (argc > 1 && argv[1][0] != '-') {
    try {
      app.get_subcommand(argv[1]);
    } catch (const CLI::OptionNotFound&) {
      fmt::print(stderr, "bpfsign: error: unknown command '{}' (see 'bpfsign --help')\n", bpfsign::printable(argv[1]));
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One clear line; the full usage is one --help away.
    fmt::print(stderr, "bpfsign: error: {} (see 'bpfsign --help')\n", bpfsign::printable(e.what()));
    return kExitUsage;
  }
  try {
    return action ? action() : kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bpfsign: internal error: {}\n", e.what());
    return kExitInternal;
  }
}
