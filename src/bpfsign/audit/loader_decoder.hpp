// Reads a loader program back into the commands it executes, by symbolic
// execution of its instructions over its metadata blob - not by trusting a
// table the generator wrote. Registers hold abstract values (constants,
// pointers into the blob or the context, the metadata map, helper results,
// context inputs); the blob is replayed with every store the loader makes,
// so each bpf(2) command is decoded from the attr exactly as the kernel
// would read it. The main path assumes every step succeeds; each branch to
// a failure path is followed separately and must only report the error and
// close fds. Anything else - an instruction, helper, store or branch the
// decoder cannot explain, or code no explained path reaches - is reported
// as unexplained.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/common/sha256.hpp"

namespace bpfsign::audit {

struct Command {
  std::size_t pc = 0;  // instruction slot of the call that performs it
  std::string kind;    // "BTF_LOAD", "MAP_CREATE", "MAP_UPDATE_ELEM", "MAP_FREEZE", "PROG_LOAD",
                       // "FIND_BTF", "KALLSYMS", "FD_OUT", "RELOCATION", "CLOSE"
  std::string summary; // one line for people
  std::vector<std::pair<std::string, std::string>> fields;  // for --json
};

// The value of field `key` of a command ("" when it has none).
std::string command_field(const Command& c, const std::string& key);

struct MetadataCheckFound {
  Sha256 expected_hash{};
  bool checks_exclusive = false;
};

struct Unexplained {
  std::size_t pc = 0;
  std::string instruction;
  std::string why;
};

struct DecodedLoader {
  std::optional<MetadataCheckFound> metadata_check;
  std::vector<Command> commands;
  std::size_t failure_paths = 0;  // branches to error reporting + cleanup, each explained
  std::vector<Unexplained> unexplained;
  // Instructions as the kernel counts them (insn_cnt): 8-byte slots, a
  // 64-bit immediate load counting two. Every count bpfsign prints is this.
  std::size_t instructions = 0;
  // Every value the loader takes from outside what is signed: each
  // context offset it reads before writing it (offset, what it is and how
  // the loader bounds it), and memory it copies in (offset -1).
  struct Input {
    std::int64_t context_offset = -1;
    std::string what;
  };
  std::vector<Input> inputs;
  // Each settings-area input the loader stores into its blob, with what the
  // paths reaching the store prove of it (values that an == proved, or
  // ranges two comparisons proved): what the signed instructions accept,
  // to hold against the declaration the manifest shows.
  // Where a loader stores an input: into a map's value (the map by the
  // context offset its fd is handed back at, the offset within the value),
  // a map's max_entries, a program's instructions, or other bytes.
  struct StoreTarget {
    enum class Kind { MapValue, MaxEntries, Program, Other };
    Kind kind = Kind::Other;
    std::int64_t map_fd_slot = -1;
    std::int64_t offset = 0;
    std::uint32_t size = 0;
    bool operator==(const StoreTarget&) const = default;
  };
  struct BoundedInput {
    std::int64_t context_offset = 0;
    std::vector<std::int64_t> values;
    std::vector<std::pair<std::int64_t, std::int64_t>> signed_ranges;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> unsigned_ranges;
    bool unbounded = false;  // some path stores it with no bound
    std::vector<StoreTarget> stores;
  };
  std::vector<BoundedInput> bounded_inputs;
};

// `code` is the loader's instructions, `blob` the metadata map's value.
Result<DecodedLoader> decode_loader(Bytes code, Bytes blob);

}  // namespace bpfsign::audit
