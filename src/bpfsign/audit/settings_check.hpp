// Holds a manifest's declared runtime settings against what the decoded
// loader actually accepts (DecodedLoader::bounded_inputs): `inspect` shows
// the declaration only as far as the signed instructions bear it out.
#pragma once

#include <string>
#include <vector>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::audit {

// One line per difference; empty when they agree.
std::vector<std::string> settings_mismatches(const loader::LoaderProgram& declared, const DecodedLoader& decoded);

}  // namespace bpfsign::audit
