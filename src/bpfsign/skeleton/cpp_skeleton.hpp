// `bpfsign gen skeleton`: a C++ header that owns a loaded object. It embeds
// the generated loader and its metadata, and gives the application an RAII
// owner of every fd, open_and_load / attach / destroy, and typed access to
// global data mapped into memory.
#pragma once

#include <string>

#include "bpfsign/common/error.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_model.hpp"

namespace bpfsign::skeleton {

// The header's text. `name` becomes the namespace `<name>_skel`.
Result<std::string> cpp_skeleton(const object::ObjectModel& model, const loader::LoaderProgram& loader, const std::string& name);

// A C identifier for a map or object name: ".data.custom" → "data_custom".
std::string identifier(const std::string& name);

}  // namespace bpfsign::skeleton
