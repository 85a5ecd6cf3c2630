// Reading whole files and writing outputs atomically: a reader never sees a
// half-written output, because we write a temporary file and rename it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "bpfsign/common/error.hpp"

namespace bpfsign {

// Upper bound on any input file we read into memory; a BPF object or bundle
// beyond this is refused rather than exhausting memory.
inline constexpr std::uint64_t kMaxInputFileSize = 1ull << 30;

Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path);

// Writes `data` to `path` via a temporary file in the same directory,
// fsync and rename. On failure nothing is left at `path` that was not there.
Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> data,
                         unsigned mode = 0644);

}  // namespace bpfsign
