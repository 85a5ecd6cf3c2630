// `bpfsign gen skeleton --c`: a self-contained C header for C programs. It
// embeds the loader and its metadata and a small runtime of its own (bpf(2)
// through syscall(2); no library to link): <name>__open_and_load() runs the
// loader and maps global data into memory; <name>__destroy() unmaps and
// closes everything. Attaching is left to the application (the C++
// skeleton attaches); objects with .kconfig externs need the C++ skeleton,
// which reads the running kernel's configuration.
#pragma once

#include <string>

#include "bpfsign/common/error.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_model.hpp"

namespace bpfsign::skeleton {

Result<std::string> c_skeleton(const object::ObjectModel& model, const loader::LoaderProgram& loader, const std::string& name);

}  // namespace bpfsign::skeleton
