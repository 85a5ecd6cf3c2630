// The loader's context: what the runtime passes in through BPF_PROG_RUN's
// ctx_in and reads back from ctx_out. Layout documented in docs/loader.md;
// version 1. All fields little-endian.
#pragma once

#include <cstdint>

namespace bpfsign::loader {

inline constexpr std::uint32_t kContextMagic = 0x53465042;  // "BPFS"
inline constexpr std::uint32_t kContextVersion = 1;
// The most possible CPUs a loader accepts from its context for sizing a
// perf event array (the largest CONFIG_NR_CPUS of x86-64 and arm64 kernels).
inline constexpr std::uint32_t kMaxPossibleCpus = 8192;

// Fixed header; the fd arrays follow it.
struct ContextHeader {
  std::uint32_t magic = kContextMagic;
  std::uint32_t size = 0;         // in: the whole context's size, as generated
  std::int32_t error = 0;         // out: 0, or -errno of the step that failed
  std::uint32_t failed_step = 0;  // out: index of that step (LoaderProgram::steps)
  std::uint32_t log_level = 0;    // in: verifier log level for program loads
  std::uint32_t log_size = 0;     // in: size of log_buf
  std::uint64_t log_buf = 0;      // in: user address of the verifier log buffer
  std::int32_t btf_fd = 0;        // out: the object's BTF
  std::int32_t scratch_fd = 0;    // the loader's own: an inner-map template while its outer map is created
  std::uint32_t page_size = 0;    // in: the running kernel's page size (ring buffer sizes)
  std::uint32_t possible_cpus = 0;  // in: the machine's possible CPUs (unsized perf event arrays)
};
static_assert(sizeof(ContextHeader) == 48);

struct ContextLayout {
  std::uint32_t maps = 0;
  std::uint32_t programs = 0;
  std::uint32_t kconfig_size = 0;  // bytes of .kconfig values the runtime supplies
  std::uint32_t settings = 0;      // records of runtime settings (loader/settings.hpp)

  static constexpr std::int16_t kError = 8;
  static constexpr std::int16_t kFailedStep = 12;
  static constexpr std::int16_t kLogLevel = 16;
  static constexpr std::int16_t kLogSize = 20;
  static constexpr std::int16_t kLogBuf = 24;
  static constexpr std::int16_t kBtfFd = 32;
  static constexpr std::int16_t kScratchFd = 36;
  static constexpr std::int16_t kPageSize = 40;
  static constexpr std::int16_t kPossibleCpus = 44;

  std::uint32_t map_fd(std::uint32_t i) const { return sizeof(ContextHeader) + 4 * i; }
  std::uint32_t prog_fd(std::uint32_t i) const { return map_fd(maps) + 4 * i; }
  // The .kconfig map's value, filled by the runtime from the running
  // kernel's configuration (these values are inputs, not signed content).
  std::uint32_t kconfig() const { return (prog_fd(programs) + 7u) & ~7u; }
  // Record i of the runtime settings, kSettingRecordSize bytes: the value
  // (u64, in), whether the caller gives it (u32, in; for an optional
  // program: skip it), and what the loader did (u32, out; ProgramOutcome).
  // Inputs no signature covers: the loader bounds each before use.
  static constexpr std::uint32_t kSettingRecordSize = 16;
  std::uint32_t settings_area() const { return kconfig() + ((kconfig_size + 7u) & ~7u); }
  std::uint32_t setting_value(std::uint32_t i) const { return settings_area() + kSettingRecordSize * i; }
  std::uint32_t setting_given(std::uint32_t i) const { return setting_value(i) + 8; }
  std::uint32_t setting_outcome(std::uint32_t i) const { return setting_value(i) + 12; }
  std::uint32_t size() const { return settings_area() + kSettingRecordSize * settings; }
};

}  // namespace bpfsign::loader
