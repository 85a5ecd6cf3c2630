// `bpfsign gen skeleton --c`: a self-contained C header for C programs. It
// embeds the loader and its metadata and a small runtime of its own (bpf(2)
// through syscall(2); no library to link): <name>__open(), the setters of
// the runtime settings the signer declared (<name>__set_<var>(s, v),
// __set_max_entries_<map>, __skip_<prog>: each checks its bounds and writes
// its record into the loader's context), <name>__load() runs the loader and
// maps global data into memory (or __open_and_load(), both at once);
// <name>__destroy() unmaps and closes everything. Attaching is left to the application (the C++
// skeleton attaches); objects with .kconfig externs need the C++ skeleton,
// which reads the running kernel's configuration.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_model.hpp"

namespace bpfsign::skeleton {

// One scheme's signed loader, for a signed C skeleton.
struct SignedLoader {
  std::string scheme;                  // "kernel-chained", ...
  std::vector<std::uint8_t> code;      // its instructions
  std::vector<std::uint8_t> signature; // DER PKCS#7
  bool chained = false;                // fd_array_cnt set: the kernel chains the metadata in
};

// With `signed_loaders` (a bundle's, every scheme a kernel implements), the
// header embeds each with its signature and the metadata, and
// <name>__open_and_load(keyring_id) loads the one the running kernel takes:
// it tries them in turn (a self-contained header has no cryptography to
// probe with), each with a metadata map exclusive to that loader, frozen
// and hashed; s->scheme and s->checked_by say which loaded and who checked.
Result<std::string> c_skeleton(const object::ObjectModel& model, const loader::LoaderProgram& loader, const std::string& name,
                               std::span<const SignedLoader> signed_loaders = {});

}  // namespace bpfsign::skeleton
