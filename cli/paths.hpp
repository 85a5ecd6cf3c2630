// Checks on the files a command is given, before it writes anything.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"

namespace bpfsign::cli {

// Refuses (usage error) when two of the named paths are the same file, or
// would be once written (an output given as an input, --key equal to
// --cert): such a command would destroy one of them. Each entry is
// {option name, path}; empty paths are skipped.
Status distinct_files(const std::vector<std::pair<std::string, std::string>>& named);

}  // namespace bpfsign::cli
