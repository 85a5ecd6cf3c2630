// Turns an object model into a loader program and its metadata blob
// (docs/loader.md): a sleepable BPF_PROG_TYPE_SYSCALL program that, run
// once, loads the object's BTF, creates and fills its maps, loads its
// programs and hands every fd back through its context. Pure: no system
// call happens here; load/ runs the result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpfsign/abi/helper_ids.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/isa/instruction.hpp"
#include "bpfsign/loader/context_layout.hpp"
#include "bpfsign/loader/settings.hpp"
#include "bpfsign/object/object_model.hpp"

namespace bpfsign::loader {

// One command the loader runs; ContextHeader::failed_step indexes these.
struct LoaderStep {
  enum class Kind : std::uint8_t {
    BtfLoad, InnerMapCreate, MapCreate, MapUpdate, MapFreeze, FindAttachTarget, ResolveKfunc, ResolveKsym, ProgLoad,
    SlotUpdate, ContextBound,
    SettingBound,  // a runtime setting from the context outside its declared bounds (object: the setting's name)
  };
  Kind kind = Kind::BtfLoad;
  std::string object;  // the map or program it concerns ("" for BTF)
};
const char* step_kind_name(LoaderStep::Kind kind);

// A .kconfig value the runtime must supply, at ContextLayout::kconfig() + offset.
struct KconfigValue {
  std::string name;
  object::KconfigType type = object::KconfigType::None;
  bool is_signed = false;
  bool weak = false;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
};

// What the runtime needs to know of a map besides its fd: whether user
// space can map its value (global data) and how.
struct MapSummary {
  std::string name;
  std::uint32_t value_size = 0;
  bool mmapable = false;  // BPF_F_MMAPABLE: the runtime maps it into memory
  bool read_only = false; // frozen after initialisation: mapped read-only
};

// How the runtime attaches program i (from its SEC() name).
struct ProgramSummary {
  std::string name;
  std::string section;
  object::AttachMethod attach = object::AttachMethod::None;
  std::uint32_t expected_attach_type = 0;
  std::string attach_target;
};

// Where a part of the loader starts, for people: the first instruction slot
// or blob byte that belongs to `what` ("create map 'counts'"). Each part
// runs until the next one starts.
struct Region {
  std::uint32_t start = 0;
  std::string what;
};
// The part holding `offset`, or "" if before the first.
const std::string& region_at(const std::vector<Region>& regions, std::uint64_t offset);

struct LoaderProgram {
  // The loader's instructions, encoded: what the kernel loads, bundles
  // carry and signatures cover; the one form whether generated here or read
  // from a bundle (isa::decode_program reads it back).
  std::vector<std::uint8_t> code;
  std::vector<std::uint8_t> blob;       // the metadata map's value
  ContextLayout context;
  std::vector<LoaderStep> steps;
  std::vector<std::string> maps;        // map i of the context is maps[i]
  std::vector<std::string> programs;    // program i likewise
  std::vector<KconfigValue> kconfig;
  std::vector<MapSummary> map_summaries;  // like maps
  std::vector<ProgramSummary> program_summaries;  // like programs
  std::vector<Setting> settings;        // record i of the context's settings area is settings[i]
  // Not serialised: rebuilt by generating again (bpfsign reproduce).
  std::vector<Region> code_regions;  // instruction slots of `code`
  std::vector<Region> blob_regions;  // bytes of `blob`
};


// `settings`: what the loading side may change (empty: nothing).
Result<LoaderProgram> generate_loader(const object::ObjectModel& model, const SettingsDeclaration& settings = {});

}  // namespace bpfsign::loader
