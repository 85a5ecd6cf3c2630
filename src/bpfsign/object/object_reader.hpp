// Reads a BPF ELF object into an ObjectModel (object_model.hpp).
#pragma once

#include <filesystem>
#include <string>

#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/object_model.hpp"

namespace bpfsign::object {

struct ReadOptions {
  // Prefix of global-data map names given to the kernel; empty: the file
  // name up to its first '.', as libbpf names objects.
  std::string object_name;
};

Result<ObjectModel> read_object(const ElfFile& elf, const ReadOptions& options = {});
Result<ObjectModel> read_object_file(const std::filesystem::path& path, const ReadOptions& options = {});

}  // namespace bpfsign::object
