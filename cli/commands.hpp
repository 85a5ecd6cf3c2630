// Each subcommand registers itself on the application and sets the action
// to run once parsing succeeded. Actions return a process exit code.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace bpfsign::cli {

using Action = std::function<int()>;

void register_disasm(CLI::App& app, Action& action);
void register_object(CLI::App& app, Action& action);
void register_load(CLI::App& app, Action& action);
void register_gen(CLI::App& app, Action& action);
void register_probe(CLI::App& app, Action& action);
void register_version(CLI::App& app, Action& action);
void register_keygen(CLI::App& app, Action& action);
void register_sign(CLI::App& app, Action& action);
void register_verify(CLI::App& app, Action& action);
void register_keyring(CLI::App& app, Action& action);
void register_reproduce(CLI::App& app, Action& action);
void register_inspect(CLI::App& app, Action& action);
void register_boot(CLI::App& app, Action& action);
void register_gate(CLI::App& app, Action& action);
// man, completion: generated from the commands above, so registered last.
void register_docs(CLI::App& app, Action& action);

}  // namespace bpfsign::cli
