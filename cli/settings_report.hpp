// How `verify`, `inspect` and `load` show the runtime settings a bundle's
// signer declared (loader/settings.hpp), from its manifest.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::cli {

// One line per declared setting: "variable targ_tgid (.rodata +0, 4-byte unsigned): 0..4194304".
std::vector<std::string> settings_lines(const loader::LoaderProgram& loader);
nlohmann::json settings_json(const loader::LoaderProgram& loader);

}  // namespace bpfsign::cli
