// Pinning a loaded object under a bpffs directory, all or nothing:
//   DIR/maps/<map>, DIR/progs/<program>, DIR/links/<program>.
// If any pin fails, everything pinned so far is removed again.
#pragma once

#include <filesystem>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/load/attach.hpp"
#include "bpfsign/load/loader_runtime.hpp"

namespace bpfsign::load {

// Whether `path` lies on a BPF file system (bpffs), where pins can go.
bool on_bpf_fs(const std::filesystem::path& path);

Result<std::vector<std::filesystem::path>> pin_object(const std::filesystem::path& dir, const LoadedObject& loaded,
                                                      const std::vector<Attachment>& links);

}  // namespace bpfsign::load
