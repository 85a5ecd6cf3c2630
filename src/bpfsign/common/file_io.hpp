// Reading whole files and writing outputs atomically: a reader never sees a
// half-written output, because we write a temporary file and rename it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/common/unique_fd.hpp"

namespace bpfsign {

// Upper bound on any input file we read into memory; a BPF object or bundle
// beyond this is refused rather than exhausting memory.
inline constexpr std::uint64_t kMaxInputFileSize = 1ull << 30;

// An input file opened for reading: a regular file (a FIFO or device is
// refused without waiting on it), at most kMaxInputFileSize bytes.
struct InputFile {
  UniqueFd fd;
  std::uint64_t size = 0;
};
Result<InputFile> open_input_file(const std::filesystem::path& path);

Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path);

// What an output does to a file already at its path. Commands that write
// what the user names (keys, certificates, bundles, headers) keep an
// existing file unless told --force: no key is ever lost to a typo.
enum class Existing { Keep, Replace };

// A file written in full (fsync'd) under a temporary name beside its
// destination, not yet in place: commit() renames it there. Destroyed
// without a commit, it leaves nothing. Two outputs that must appear
// together (a key and its certificate) are both staged before either is
// committed.
class StagedFile {
 public:
  static Result<StagedFile> write(const std::filesystem::path& path, std::span<const std::uint8_t> data, unsigned mode);
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  // With Existing::Keep, a file already at the path stays and the commit
  // fails (a usage error naming --force), atomically.
  Status commit(Existing existing);
  const std::filesystem::path& path() const { return path_; }

 private:
  StagedFile(std::filesystem::path path, std::string tmp);
  std::filesystem::path path_;
  std::string tmp_;  // empty once committed
};

// Stages and commits in one step. On failure nothing is left at `path`
// that was not there.
Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> data, unsigned mode = 0644,
                         Existing existing = Existing::Replace);

}  // namespace bpfsign
