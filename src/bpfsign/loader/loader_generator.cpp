// The loader generator. Register contract of the emitted program:
//   r6  the context (never changes)
//   r7  the metadata blob's address (never changes)
//   r0  the result of the last helper call
//   r1-r5 arguments and scratch
// No stack is used: every fd lives in the context, so the number of maps
// and programs is bounded only by the context's 16-bit offsets.
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "bpfsign/isa/encode.hpp"
#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/loader/blob_builder.hpp"
#include "bpfsign/loader/emitter.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/loader/manifest.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/abi/bpf_enums.hpp"

namespace bpfsign::loader {

namespace {

using isa::Alu;
using isa::AluOp;
using isa::Imm;
using isa::JmpOp;
using isa::Load;
using isa::MemSize;
using isa::Reg;
using isa::Store;
using object::Map;
using object::MapOrigin;
using object::ObjectModel;
using object::Program;
using object::RelocKind;

constexpr Reg r0{0}, r1{1}, r2{2}, r3{3}, r4{4}, r6{6}, r7{7};

// Map types whose BTF key/value ids the kernel refuses (libbpf clears them too).
bool map_takes_no_btf(std::uint32_t type) {
  switch (type) {
    case 4: case 7: case 8: case 12: case 13: case 14: case 15: case 16: case 17: case 18: case 22: case 23: case 25:
      return true;  // perf_event_array, stack_trace, cgroup_array, *_of_maps, devmap(s), cpumap, xskmap, sockmap/hash, queue, stack
    default:
      return false;
  }
}

// The BTF name of the kernel object a program attaches to, and its kind.
std::pair<std::string, btf::Kind> attach_btf_name(const object::SectionKind& k) {
  using namespace object;
  if (k.prog_type == abi::prog_type::kLsm) return {"bpf_lsm_" + k.attach_target, btf::Kind::Func};
  if (k.expected_attach_type == abi::attach_type::kTraceIter) return {"bpf_iter_" + k.attach_target, btf::Kind::Func};
  if (k.expected_attach_type == abi::attach_type::kTraceRawTp) return {"btf_trace_" + k.attach_target, btf::Kind::Typedef};
  return {k.attach_target, btf::Kind::Func};
}

class Generator {
 public:
  explicit Generator(const ObjectModel& model) : model_(model) {
    out_.context.maps = static_cast<std::uint32_t>(model.maps.size());
    out_.context.programs = static_cast<std::uint32_t>(model.programs.size());
    for (const auto& e : model.externs) {
      if (e.kind != object::ExternKind::Kconfig) continue;
      out_.kconfig.push_back({e.name, e.kconfig_type, e.kconfig_signed, e.weak, e.kconfig_offset, e.kconfig_size});
      out_.context.kconfig_size = std::max(out_.context.kconfig_size, e.kconfig_offset + e.kconfig_size);
    }
  }

  Result<LoaderProgram> run(const SettingsDeclaration& declaration) {
    auto settings = resolve_settings(declaration, model_);
    if (!settings) return settings.error();
    out_.settings = std::move(settings).value();
    out_.context.settings = static_cast<std::uint32_t>(out_.settings.size());
    if (out_.context.size() > 0x7ff0) return bad_input("{} maps and programs do not fit the loader context", model_.maps.size() + model_.programs.size());
    cleanup_ = e_.new_label();
    prologue();
    if (model_.btf) load_btf();
    for (std::uint32_t i = 0; i < model_.maps.size(); ++i) create_map(i);
    for (std::uint32_t i = 0; i < model_.maps.size(); ++i) initialise_map(i);
    fill_fd_array();
    // A fallback is loaded after every other program, so that it can ask
    // whether its primary was loaded.
    for (std::uint32_t i = 0; i < model_.programs.size(); ++i) {
      if (!is_fallback(i)) load_program(i);
    }
    for (std::uint32_t i = 0; i < model_.programs.size(); ++i) {
      if (is_fallback(i)) load_program(i);
    }
    for (std::uint32_t i = 0; i < model_.maps.size(); ++i) fill_slots(i);
    e_.emit(Alu{AluOp::Mov, true, r0, Imm{0}});
    e_.emit(isa::Exit{});
    close_everything();
    auto insns = e_.finish();
    if (!insns) return insns.error();
    out_.code = isa::encode_program(*insns);
    for (const auto& m : model_.maps) {
      out_.maps.push_back(m.name);
      out_.map_summaries.push_back({m.name, m.def.value_size, (m.def.flags & abi::kMapFlagMmapable) != 0, m.frozen_after_init()});
    }
    for (const auto& p : model_.programs) {
      out_.programs.push_back(p.name);
      out_.program_summaries.push_back({p.name, p.section, p.kind.attach, p.kind.expected_attach_type, p.kind.attach_target});
    }
    // The blob ends with the manifest's digest: whatever covers the
    // metadata covers how the runtime will read the context.
    const Sha256 manifest_digest = sha256(serialize_manifest(out_));
    out_.blob_regions.push_back({static_cast<std::uint32_t>((blob_.size() + 7) & ~std::size_t{7}), "manifest digest"});
    blob_.add(manifest_digest);
    out_.blob = blob_.take();
    return std::move(out_);
  }

 private:
  // Marks where the part of the loader doing `what` starts, in the
  // instructions and in the blob.
  void part(std::string what) {
    out_.code_regions.push_back({static_cast<std::uint32_t>(e_.slots()), what});
    out_.blob_regions.push_back({static_cast<std::uint32_t>(blob_.size()), std::move(what)});
  }

  // The settings record of `kind` for map or program `target`, if declared.
  std::optional<std::uint32_t> setting_for(Setting::Kind kind, std::uint32_t target) const {
    for (std::uint32_t k = 0; k < out_.settings.size(); ++k) {
      if (out_.settings[k].kind == kind && out_.settings[k].target == target) return k;
    }
    return std::nullopt;
  }
  bool is_fallback(std::uint32_t program) const {
    auto k = setting_for(Setting::Kind::OptionalProgram, program);
    return k && out_.settings[*k].fallback_for.has_value();
  }

  // --- emission helpers: each names one thing the loader does ---

  // blob[field] = value (of `size`); r1 is scratch for far fields.
  void store_to_blob(std::uint32_t field, Reg value, MemSize size) {
    if (near(field)) {
      e_.emit(Store{size, r7, static_cast<std::int16_t>(field), value});
      return;
    }
    blob_address(r1, field);
    e_.emit(Store{size, r1, 0, value});
  }
  // if (reg OP x) goto label, with x as an immediate when the jump's
  // sign-extended 32-bit immediate means x, else through r3.
  void jump_if_value(JmpOp op, Reg reg, std::uint64_t x, bool is_signed, Emitter::Label label) {
    const auto v = static_cast<std::int64_t>(x);
    const bool fits = is_signed ? (v >= INT32_MIN && v <= INT32_MAX) : x <= static_cast<std::uint64_t>(INT32_MAX);
    if (fits) {
      e_.jump_if(op, reg, Imm{static_cast<std::int32_t>(v)}, label);
      return;
    }
    e_.emit(isa::LoadImm64{r3, isa::PseudoSrc::Imm, static_cast<std::int32_t>(x & 0xffffffffu), static_cast<std::int32_t>(x >> 32)});
    e_.jump_if(op, reg, r3, label);
  }

  // reg = address of blob byte `off` (ld_imm64 of the metadata map's value).
  void blob_address(Reg reg, std::uint32_t off) {
    e_.emit(isa::LoadImm64{reg, isa::PseudoSrc::MapIdxValue, 0, static_cast<std::int32_t>(off)});
  }
  // Fields within a 16-bit store offset of the blob's start are written
  // through r7 (the blob's address) directly; others through an address.
  static bool near(std::uint32_t field) { return field <= 0x7ff0; }

  // blob[field] = address of blob[target]: pointers in attrs are only known at run time.
  void store_blob_pointer(std::uint32_t field, std::uint32_t target) {
    if (near(field)) {
      e_.emit(Alu{AluOp::Mov, true, r2, r7});
      e_.emit(Alu{AluOp::Add, true, r2, Imm{static_cast<std::int32_t>(target)}});
      e_.emit(Store{MemSize::DW, r7, static_cast<std::int16_t>(field), r2});
      return;
    }
    blob_address(r1, field);
    blob_address(r2, target);
    e_.emit(Store{MemSize::DW, r1, 0, r2});
  }
  // blob[field] = ctx[ctx_off] (an fd or a log setting).
  void copy_from_context(std::int16_t ctx_off, std::uint32_t field, MemSize size) {
    e_.emit(Load{size, false, r2, r6, ctx_off});
    store_to_blob(field, r2, size);
  }
  // r0 = bpf_kallsyms_lookup_name(blob[name], name_size, 0, &blob[result]):
  // 0 and the address at blob[result], or -ENOENT. Clobbers r1-r5.
  void kallsyms_lookup(std::uint32_t name, std::int32_t name_size, std::uint32_t result) {
    blob_address(r1, name);
    e_.emit(Alu{AluOp::Mov, true, r2, Imm{name_size}});
    e_.emit(Alu{AluOp::Mov, true, r3, Imm{0}});
    blob_address(r4, result);
    e_.emit(isa::Call{isa::CallKind::Helper, abi::kHelperKallsymsLookupName, 0});
  }
  // r0 = bpf_btf_find_by_name_kind(blob[name], name_size, kind, 0): the
  // running kernel's btf_obj_fd << 32 | btf_id of that name and kind, or a
  // negative errno. Reads nothing; sets r1-r4 and clobbers r1-r5; the
  // result is in r0.
  void btf_find_by_name_kind(std::uint32_t name, std::int32_t name_size, btf::Kind kind) {
    blob_address(r1, name);
    e_.emit(Alu{AluOp::Mov, true, r2, Imm{name_size}});
    e_.emit(Alu{AluOp::Mov, true, r3, Imm{static_cast<std::int32_t>(kind)}});
    e_.emit(Alu{AluOp::Mov, true, r4, Imm{0}});
    e_.emit(isa::Call{isa::CallKind::Helper, abi::kHelperBtfFindByNameKind, 0});
  }
  // bpf_sys_close(r1), then ctx[ctx_off] = 0, so that the failure path does
  // not close it again. Reads r1 (the fd, as loaded from ctx[ctx_off]);
  // clobbers r0-r5 (r1 ends 0).
  void close_and_clear_slot(std::int16_t ctx_off) {
    e_.emit(isa::Call{isa::CallKind::Helper, abi::kHelperSysClose, 0});
    e_.emit(Alu{AluOp::Mov, true, r1, Imm{0}});
    e_.emit(Store{MemSize::W, r6, ctx_off, r1});
  }
  // r0 = bpf(cmd, blob + attr, size)
  void sys_bpf(abi::BpfCmd cmd, std::uint32_t attr, std::uint32_t size) {
    e_.emit(Alu{AluOp::Mov, true, r1, Imm{static_cast<std::int32_t>(cmd)}});
    blob_address(r2, attr);
    e_.emit(Alu{AluOp::Mov, true, r3, Imm{static_cast<std::int32_t>(size)}});
    e_.emit(isa::Call{isa::CallKind::Helper, abi::kHelperSysBpf, 0});
  }
  // On a negative r0: record it and the step, then close everything.
  void fail_if_negative(LoaderStep step) {
    const auto index = static_cast<std::int32_t>(out_.steps.size());
    out_.steps.push_back(std::move(step));
    const auto ok = e_.new_label();
    e_.jump_if(JmpOp::SGe, r0, Imm{0}, ok);
    e_.emit(Store{MemSize::W, r6, ContextLayout::kError, r0});
    e_.emit(Alu{AluOp::Mov, true, r1, Imm{index}});
    e_.emit(Store{MemSize::W, r6, ContextLayout::kFailedStep, r1});
    e_.jump_long(cleanup_);
    e_.bind(ok);
  }
  void store_result_fd(std::uint32_t ctx_off) {
    e_.emit(Store{MemSize::W, r6, static_cast<std::int16_t>(ctx_off), r0});
  }

  // --- the loader's steps ---

  // r6 = ctx; a context of another layout is refused before anything happens.
  void prologue() {
    part("context check");
    e_.emit(Alu{AluOp::Mov, true, r6, Reg{1}});
    blob_address(r7, 0);  // helpers preserve r6-r9
    const auto bad = e_.new_label(), good = e_.new_label();
    e_.emit(Load{MemSize::W, false, r2, r6, 0});
    e_.jump_if(JmpOp::Ne, r2, Imm{static_cast<std::int32_t>(kContextMagic)}, bad);
    e_.emit(Load{MemSize::W, false, r2, r6, 4});
    e_.jump_if(JmpOp::Ne, r2, Imm{static_cast<std::int32_t>(out_.context.size())}, bad);
    e_.jump_long(good);
    e_.bind(bad);
    e_.emit(Alu{AluOp::Mov, true, r0, Imm{-EINVAL}});
    e_.emit(isa::Exit{});
    e_.bind(good);
  }

  void load_btf() {
    part("load BTF");
    const auto bytes = model_.btf->serialize();
    abi::BtfLoadAttr attr;
    attr.btf_size = static_cast<std::uint32_t>(bytes.size());
    const std::uint32_t data = blob_.add(bytes);
    const std::uint32_t at = blob_.add_struct(attr);
    store_blob_pointer(at + offsetof(abi::BtfLoadAttr, btf), data);
    sys_bpf(abi::BpfCmd::BtfLoad, at, sizeof attr);
    fail_if_negative({LoaderStep::Kind::BtfLoad, ""});
    store_result_fd(ContextLayout::kBtfFd);
  }

  abi::MapCreateAttr map_attr(const object::MapDefinition& def, const std::string& kernel_name) const {
    abi::MapCreateAttr attr;
    attr.map_type = def.type;
    attr.key_size = def.key_size;
    attr.value_size = def.value_size;
    attr.max_entries = def.max_entries;
    attr.map_flags = def.flags;
    attr.numa_node = def.numa_node;
    attr.map_extra = def.map_extra;
    std::memcpy(attr.map_name, kernel_name.data(), std::min<std::size_t>(kernel_name.size(), sizeof attr.map_name - 1));
    return attr;
  }

  // A ring buffer's size must be a power-of-two number of the running
  // kernel's pages: the smallest page_size << k at least the declared size,
  // as libbpf rounds it (but with the kernel's page size, not the build
  // host's). Unrolled, so the verifier sees no loop.
  // With a size setting, the size to round is the one in the attr (the
  // declared one, or the setting's once bounded).
  void round_to_pages(std::uint32_t declared, std::uint32_t field, bool settable) {
    const auto done = e_.new_label();
    if (settable) {
      load_from_blob(r3, field, MemSize::W);
    } else {
      e_.emit(Alu{AluOp::Mov, true, r3, Imm{static_cast<std::int32_t>(declared)}});
    }
    e_.emit(Load{MemSize::W, false, r2, r6, ContextLayout::kPageSize});
    for (int k = 0; k < 32; ++k) {
      e_.jump_if(JmpOp::Ge, r2, r3, done);
      e_.emit(Alu{AluOp::Lsh, true, r2, Imm{1}});
    }
    e_.bind(done);
    store_to_blob(field, r2, MemSize::W);
  }
  // reg = blob[field] (of `size`); r1 is scratch for far fields.
  void load_from_blob(Reg reg, std::uint32_t field, MemSize size) {
    if (near(field)) {
      e_.emit(Load{size, false, reg, r7, static_cast<std::int16_t>(field)});
      return;
    }
    blob_address(r1, field);
    e_.emit(Load{size, false, reg, r1, 0});
  }

  // Setting k, when the context gives it: its value checked against the
  // declared bounds (64 bits wide, before any truncation, so no value
  // outside them passes as one inside) and stored at blob[field]. A value
  // outside them fails the load (SettingBound, -ERANGE). Without it the
  // signed value stays.
  void apply_setting(std::uint32_t k, std::uint32_t field) {
    const Setting& s = out_.settings[k];
    const auto absent = e_.new_label(), bad = e_.new_label(), good = e_.new_label(), checked = e_.new_label();
    e_.emit(Load{MemSize::W, false, r2, r6, static_cast<std::int16_t>(out_.context.setting_given(k))});
    e_.jump_if(JmpOp::Eq, r2, Imm{0}, absent);
    e_.emit(Load{MemSize::DW, false, r2, r6, static_cast<std::int16_t>(out_.context.setting_value(k))});
    if (s.value_set) {
      for (std::uint64_t v : s.values) jump_if_value(JmpOp::Eq, r2, v, s.is_signed, good);
      e_.jump_long(bad);
    } else {
      jump_if_value(s.is_signed ? JmpOp::SLt : JmpOp::Lt, r2, s.min, s.is_signed, bad);
      jump_if_value(s.is_signed ? JmpOp::SGt : JmpOp::Gt, r2, s.max, s.is_signed, bad);
    }
    e_.bind(good);
    store_to_blob(field, r2, size_of(s.size));
    e_.emit(Alu{AluOp::Mov, true, r0, Imm{0}});
    e_.jump_long(checked);
    e_.bind(bad);
    e_.emit(Alu{AluOp::Mov, true, r0, Imm{-ERANGE}});
    e_.bind(checked);
    fail_if_negative({LoaderStep::Kind::SettingBound, s.name});
    e_.bind(absent);
  }
  static MemSize size_of(std::uint32_t bytes) {
    switch (bytes) {
      case 1: return MemSize::B;
      case 2: return MemSize::H;
      case 4: return MemSize::W;
      default: return MemSize::DW;
    }
  }

  // A perf event array declared without a size gets one entry per possible
  // CPU, as libbpf sizes it. The count comes from the context (the runtime
  // counts /sys/devices/system/cpu/possible as libbpf does) and is bounded
  // here, in the signed loader, so that no caller can make it 0 or huge.
  void size_by_possible_cpus(const Map& m, std::uint32_t field) {
    const auto bad = e_.new_label(), checked = e_.new_label();
    e_.emit(Load{MemSize::W, false, r2, r6, ContextLayout::kPossibleCpus});
    e_.jump_if(JmpOp::Eq, r2, Imm{0}, bad);
    e_.jump_if(JmpOp::Gt, r2, Imm{static_cast<std::int32_t>(kMaxPossibleCpus)}, bad);
    store_to_blob(field, r2, MemSize::W);
    e_.emit(Alu{AluOp::Mov, true, r0, Imm{0}});
    e_.jump_long(checked);
    e_.bind(bad);
    e_.emit(Alu{AluOp::Mov, true, r0, Imm{-EINVAL}});
    e_.bind(checked);
    fail_if_negative({LoaderStep::Kind::ContextBound, m.name});
  }

  // A map-in-map is created from a template of its inner maps: create the
  // template, hand its fd to the outer map's creation, then close it.
  void create_inner_template(const Map& m) {
    const abi::MapCreateAttr attr = map_attr(*m.inner, (m.kernel_name + ".inner").substr(0, 15));
    const std::uint32_t at = blob_.add_struct(attr);
    sys_bpf(abi::BpfCmd::MapCreate, at, sizeof attr);
    fail_if_negative({LoaderStep::Kind::InnerMapCreate, m.name});
    store_result_fd(static_cast<std::uint32_t>(ContextLayout::kScratchFd));
  }
  void close_inner_template() {
    e_.emit(Load{MemSize::W, false, r1, r6, ContextLayout::kScratchFd});
    close_and_clear_slot(ContextLayout::kScratchFd);
  }

  void create_map(std::uint32_t i) {
    part(fmt::format("create map '{}'", model_.maps[i].name));
    const Map& m = model_.maps[i];
    if (m.inner) create_inner_template(m);
    abi::MapCreateAttr attr = map_attr(m.def, m.kernel_name);
    // The kernel takes BTF ids only with a value type (a key type alone is
    // refused with EINVAL; libbpf then retries without BTF).
    const bool with_btf = model_.btf && !map_takes_no_btf(m.def.type) && m.def.btf_value_type_id != 0;
    if (with_btf) {
      attr.btf_key_type_id = m.def.btf_key_type_id;
      attr.btf_value_type_id = m.def.btf_value_type_id;
    }
    const std::uint32_t at = blob_.add_struct(attr);
    const auto size_setting = setting_for(Setting::Kind::MaxEntries, i);
    if (size_setting) apply_setting(*size_setting, at + offsetof(abi::MapCreateAttr, max_entries));
    if ((m.def.type == abi::map_type::kRingbuf || m.def.type == abi::map_type::kUserRingbuf) && m.def.max_entries != 0) {
      round_to_pages(m.def.max_entries, at + offsetof(abi::MapCreateAttr, max_entries), size_setting.has_value());
    }
    if (m.def.type == abi::map_type::kPerfEventArray && m.def.max_entries == 0) {
      size_by_possible_cpus(m, at + offsetof(abi::MapCreateAttr, max_entries));
    }
    if (with_btf) copy_from_context(ContextLayout::kBtfFd, at + offsetof(abi::MapCreateAttr, btf_fd), MemSize::W);
    if (m.inner) copy_from_context(ContextLayout::kScratchFd, at + offsetof(abi::MapCreateAttr, inner_map_fd), MemSize::W);
    sys_bpf(abi::BpfCmd::MapCreate, at, sizeof attr);
    fail_if_negative({LoaderStep::Kind::MapCreate, m.name});
    store_result_fd(out_.context.map_fd(i));
    if (m.inner) close_inner_template();
  }

  // `.values = { [k] = &x }`: after every program is loaded, slot k of a
  // prog_array or map-in-map gets the fd of program or map x.
  void fill_slots(std::uint32_t i) {
    part(fmt::format("fill the slots of map '{}'", model_.maps[i].name));
    const Map& m = model_.maps[i];
    for (const object::InitialSlot& slot : m.slots) {
      std::uint32_t source = 0;
      if (m.def.type == abi::map_type::kProgArray) {
        source = out_.context.prog_fd(index_of_program(slot.target));
      } else {
        source = out_.context.map_fd(index_of_map(slot.target));
      }
      const std::uint32_t key = blob_.add_struct(slot.index);
      const std::uint32_t value = blob_.add_zeros(4);
      const std::uint32_t at = blob_.add_struct(abi::MapElemAttr{});
      copy_from_context(static_cast<std::int16_t>(source), value, MemSize::W);
      copy_from_context(static_cast<std::int16_t>(out_.context.map_fd(i)), at + offsetof(abi::MapElemAttr, map_fd), MemSize::W);
      store_blob_pointer(at + offsetof(abi::MapElemAttr, key), key);
      store_blob_pointer(at + offsetof(abi::MapElemAttr, value), value);
      sys_bpf(abi::BpfCmd::MapUpdateElem, at, sizeof(abi::MapElemAttr));
      fail_if_negative({LoaderStep::Kind::SlotUpdate, fmt::format("{}[{}] = {}", m.name, slot.index, slot.target)});
    }
  }

  std::uint32_t kconfig_map() const {
    for (std::uint32_t k = 0; k < model_.maps.size(); ++k) {
      if (model_.maps[k].origin == MapOrigin::Kconfig) return k;
    }
    internal_error("kconfig relocation without a .kconfig map");
  }

  std::uint32_t index_of_program(const std::string& name) const {
    for (std::uint32_t k = 0; k < model_.programs.size(); ++k) {
      if (model_.programs[k].name == name) return k;
    }
    internal_error("slot names an unknown program: " + name);
  }
  std::uint32_t index_of_map(const std::string& name) const {
    for (std::uint32_t k = 0; k < model_.maps.size(); ++k) {
      if (model_.maps[k].name == name) return k;
    }
    internal_error("slot names an unknown map: " + name);
  }

  // Kernel functions and variables, looked up in the running kernel's BTF
  // (typed) or kallsyms (typeless) and written into the instruction. A weak
  // extern the kernel lacks stays 0, as libbpf leaves it.
  void resolve_extern(const Program& p, const object::Relocation& r, std::uint32_t insns) {
    const object::Extern& ext = model_.externs[r.target];
    const std::uint32_t name = blob_.add_string(ext.name);
    const auto name_size = static_cast<std::int32_t>(ext.name.size() + 1);
    const std::uint32_t imm = insns + r.insn * 8 + 4;
    const auto skip = e_.new_label();
    if (r.kind == RelocKind::KsymAddr && !ext.typed) {
      // bpf_kallsyms_lookup_name(name, size, 0, &result): the address.
      const std::uint32_t result = blob_.add_zeros(8);
      kallsyms_lookup(name, name_size, result);
      if (ext.weak) {
        e_.jump_if(JmpOp::SLt, r0, Imm{0}, skip);
      } else {
        fail_if_negative({LoaderStep::Kind::ResolveKsym, ext.name});
      }
      blob_address(r1, result);
      e_.emit(Load{MemSize::W, false, r2, r1, 0});
      e_.emit(Load{MemSize::W, false, r3, r1, 4});
      blob_address(r1, imm);
      e_.emit(Store{MemSize::W, r1, 0, r2});
      e_.emit(Store{MemSize::W, r1, 8, r3});
      e_.bind(skip);
      return;
    }
    // bpf_btf_find_by_name_kind(name, size, kind, 0) = btf_obj_fd << 32 | btf_id,
    // once per extern: later uses read the answer the first one kept (a
    // failed lookup walks all of the kernel's BTF, and then every module's).
    const bool is_function = ext.kind == object::ExternKind::Kfunc;
    auto kept = btf_lookups_.find(r.target);
    if (kept == btf_lookups_.end()) {
      btf_find_by_name_kind(name, name_size, is_function ? btf::Kind::Func : btf::Kind::Var);
      const std::uint32_t slot = blob_.add_zeros(8);
      blob_address(r1, slot);
      e_.emit(Store{MemSize::DW, r1, 0, r0});
      btf_lookups_.emplace(r.target, slot);
    } else {
      blob_address(r1, kept->second);
      e_.emit(Load{MemSize::DW, false, r0, r1, 0});
    }
    const LoaderStep::Kind kind = is_function ? LoaderStep::Kind::ResolveKfunc : LoaderStep::Kind::ResolveKsym;
    if (ext.weak) {
      e_.jump_if(JmpOp::SLt, r0, Imm{0}, skip);
    } else {
      fail_if_negative({kind, ext.name});
    }
    // Module BTF (a non-zero object fd) needs an fd_array: not yet.
    const auto found = e_.new_label();
    const auto done = e_.new_label();
    if (ext.weak) {
      // Reached only when the lookup failed (the verifier refuses code no
      // path reaches). A weak typed variable the kernel lacks becomes a
      // plain ld_imm64 of 0, as libbpf leaves it: src_reg 0, because
      // BPF_PSEUDO_BTF_ID with id 0 is refused.
      e_.jump_long(found);
      e_.bind(skip);
      if (r.kind == RelocKind::KsymAddr) {
        blob_address(r1, insns + r.insn * 8 + 1);
        e_.emit(Alu{AluOp::Mov, true, r2, Imm{p.insns[r.insn].dst}});
        e_.emit(Store{MemSize::B, r1, 0, r2});
      }
      e_.jump_long(done);
    }
    e_.bind(found);
    e_.emit(Alu{AluOp::Mov, true, r2, Reg{0}});
    e_.emit(Alu{AluOp::Rsh, true, r2, Imm{abi::kBtfObjFdShift}});
    const auto in_vmlinux = e_.new_label();
    e_.jump_if(JmpOp::Eq, r2, Imm{0}, in_vmlinux);
    e_.emit(Alu{AluOp::Mov, true, r0, Imm{-EOPNOTSUPP}});
    fail_if_negative({kind, ext.name + " (in a kernel module: not supported yet)"});
    e_.bind(in_vmlinux);
    blob_address(r1, imm);
    e_.emit(Store{MemSize::W, r1, 0, r0});
    e_.bind(done);
  }

  // Data and rodata get their initial bytes, .kconfig the running kernel's
  // values from the context; rodata and .kconfig are then frozen.
  void initialise_map(std::uint32_t i) {
    part(fmt::format("initialise map '{}'", model_.maps[i].name));
    const Map& m = model_.maps[i];
    const bool has_setting = setting_for(Setting::Kind::Variable, i).has_value();
    // .bss starts zeroed in the kernel: written only when a setting may change it.
    if (m.origin != MapOrigin::Data && m.origin != MapOrigin::Rodata && m.origin != MapOrigin::Kconfig && !has_setting) return;
    abi::MapElemAttr update;
    const std::uint32_t key = blob_.add_zeros(4);
    std::uint32_t value = 0;
    if (m.origin == MapOrigin::Kconfig) {
      value = blob_.add_zeros((m.def.value_size + 7u) & ~7u);
      for (std::uint32_t off = 0; off < m.def.value_size; off += 4) {
        copy_from_context(static_cast<std::int16_t>(out_.context.kconfig() + off), value + off, MemSize::W);
      }
    } else if (m.origin == MapOrigin::Bss) {
      value = blob_.add_zeros((m.def.value_size + 7u) & ~7u);
    } else {
      value = blob_.add(m.initial_value);
    }
    for (std::uint32_t k = 0; k < out_.settings.size(); ++k) {
      const Setting& s = out_.settings[k];
      if (s.kind == Setting::Kind::Variable && s.target == i) apply_setting(k, value + s.offset);
    }
    const std::uint32_t at = blob_.add_struct(update);
    copy_from_context(static_cast<std::int16_t>(out_.context.map_fd(i)), at + offsetof(abi::MapElemAttr, map_fd), MemSize::W);
    store_blob_pointer(at + offsetof(abi::MapElemAttr, key), key);
    store_blob_pointer(at + offsetof(abi::MapElemAttr, value), value);
    sys_bpf(abi::BpfCmd::MapUpdateElem, at, sizeof update);
    fail_if_negative({LoaderStep::Kind::MapUpdate, m.name});
    if (!m.frozen_after_init()) return;
    abi::MapElemAttr freeze;
    const std::uint32_t fat = blob_.add_struct(freeze);
    copy_from_context(static_cast<std::int16_t>(out_.context.map_fd(i)), fat + offsetof(abi::MapElemAttr, map_fd), MemSize::W);
    sys_bpf(abi::BpfCmd::MapFreeze, fat, sizeof freeze);
    fail_if_negative({LoaderStep::Kind::MapFreeze, m.name});
  }

  // Programs name maps by index into one fd_array, as libbpf's light
  // skeletons do (BPF_PSEUDO_MAP_IDX[_VALUE]): the kernel then computes the
  // same program tags, and the loader patches each map's fd once, here,
  // instead of once per instruction that uses it.
  void fill_fd_array() {
    part("fill the programs' fd_array");
    fd_array_ = blob_.add_zeros(4 * std::max<std::size_t>(model_.maps.size(), 1));
    for (std::uint32_t i = 0; i < model_.maps.size(); ++i) {
      copy_from_context(static_cast<std::int16_t>(out_.context.map_fd(i)), fd_array_ + 4 * i, MemSize::W);
    }
  }

  // The program's instructions as the kernel gets them: map references by
  // fd_array index.
  std::vector<std::uint8_t> program_code(const Program& p) const {
    std::vector<isa::RawInsn> insns(p.insns.begin(), p.insns.end());
    for (const auto& r : p.relocations) {
      isa::RawInsn& insn = insns[r.insn];
      if (r.kind == RelocKind::MapFd) {
        insn.src = static_cast<std::uint8_t>(isa::PseudoSrc::MapIdx);
        insn.imm = static_cast<std::int32_t>(r.target);
      } else if (r.kind == RelocKind::MapValue || r.kind == RelocKind::KconfigValue) {
        insn.src = static_cast<std::uint8_t>(isa::PseudoSrc::MapIdxValue);
        insn.imm = static_cast<std::int32_t>(r.kind == RelocKind::MapValue ? r.target : kconfig_map());
      }
    }
    std::vector<std::uint8_t> code(insns.size() * isa::kInsnSize);
    for (std::size_t k = 0; k < insns.size(); ++k) isa::raw_to_bytes(insns[k], code.data() + k * isa::kInsnSize);
    return code;
  }

  void load_program(std::uint32_t i) {
    part(fmt::format("load program '{}'", model_.programs[i].name));
    const Program& p = model_.programs[i];
    // An optional program is skipped when the context asks, when it is a
    // fallback whose primary loaded, or when its attach target is missing
    // from the running kernel; each skip leaves its fd 0 and says why.
    const auto optional = setting_for(Setting::Kind::OptionalProgram, i);
    Skips skips;
    if (optional) {
      skips = Skips{e_.new_label(), e_.new_label(), e_.new_label(), e_.new_label()};
      e_.emit(Load{MemSize::W, false, r2, r6, static_cast<std::int16_t>(out_.context.setting_given(*optional))});
      e_.jump_if(JmpOp::Ne, r2, Imm{0}, skips.asked);
      if (const auto& primary = out_.settings[*optional].fallback_for) {
        e_.emit(Load{MemSize::W, false, r2, r6, static_cast<std::int16_t>(out_.context.prog_fd(*primary))});
        e_.jump_if(JmpOp::SGt, r2, Imm{0}, skips.primary_loaded);
        skips.fallback = true;
      }
      if (p.kind.attach_by_btf_id) {
        skips.target_checked = true;
      } else {
        skips.target_checked = kprobe_target_present(p, skips.target_missing);
      }
    }
    const std::uint32_t insns = blob_.add(program_code(p));
    const std::uint32_t license = blob_.add_string(model_.license);
    // Kernel functions and variables are looked up now, in this kernel.
    for (const auto& r : p.relocations) {
      if (r.kind == RelocKind::KfuncCall || r.kind == RelocKind::KsymAddr) resolve_extern(p, r, insns);
    }
    abi::ProgLoadAttr attr;
    attr.prog_type = p.kind.prog_type;
    attr.insn_cnt = static_cast<std::uint32_t>(p.insns.size());
    attr.prog_flags = p.kind.prog_flags;
    attr.expected_attach_type = p.kind.expected_attach_type;
    std::memcpy(attr.prog_name, p.name.data(), std::min<std::size_t>(p.name.size(), sizeof attr.prog_name - 1));
    std::uint32_t func_info = 0, line_info = 0, core_relos = 0;
    if (model_.btf && !p.func_info.empty()) {
      attr.func_info_rec_size = btf::kFuncInfoSize;
      attr.func_info_cnt = static_cast<std::uint32_t>(p.func_info.size());
      func_info = blob_.add(std::span(reinterpret_cast<const std::uint8_t*>(p.func_info.data()), p.func_info.size_bytes()));
    }
    if (model_.btf && !p.line_info.empty()) {
      attr.line_info_rec_size = btf::kLineInfoSize;
      attr.line_info_cnt = static_cast<std::uint32_t>(p.line_info.size());
      line_info = blob_.add(std::span(reinterpret_cast<const std::uint8_t*>(p.line_info.data()), p.line_info.size_bytes()));
    }
    if (model_.btf && !p.core_relos.empty()) {
      attr.core_relo_rec_size = btf::kCoreReloSize;
      attr.core_relo_cnt = static_cast<std::uint32_t>(p.core_relos.size());
      core_relos = blob_.add(std::span(reinterpret_cast<const std::uint8_t*>(p.core_relos.data()), p.core_relos.size_bytes()));
    }
    std::uint32_t target_name = 0, target_name_size = 0;
    btf::Kind target_kind = btf::Kind::Func;
    if (p.kind.attach_by_btf_id) {
      auto [name, kind] = attach_btf_name(p.kind);
      target_name = blob_.add_string(name);
      target_name_size = static_cast<std::uint32_t>(name.size() + 1);
      target_kind = kind;
    }
    const std::uint32_t at = blob_.add_struct(attr);
    auto field = [at](std::size_t off) { return at + static_cast<std::uint32_t>(off); };
    store_blob_pointer(field(offsetof(abi::ProgLoadAttr, insns)), insns);
    store_blob_pointer(field(offsetof(abi::ProgLoadAttr, license)), license);
    store_blob_pointer(field(offsetof(abi::ProgLoadAttr, fd_array)), fd_array_);
    if (attr.func_info_cnt) store_blob_pointer(field(offsetof(abi::ProgLoadAttr, func_info)), func_info);
    if (attr.line_info_cnt) store_blob_pointer(field(offsetof(abi::ProgLoadAttr, line_info)), line_info);
    if (attr.core_relo_cnt) store_blob_pointer(field(offsetof(abi::ProgLoadAttr, core_relos)), core_relos);
    if (model_.btf) copy_from_context(ContextLayout::kBtfFd, field(offsetof(abi::ProgLoadAttr, prog_btf_fd)), MemSize::W);
    copy_from_context(ContextLayout::kLogLevel, field(offsetof(abi::ProgLoadAttr, log_level)), MemSize::W);
    copy_from_context(ContextLayout::kLogSize, field(offsetof(abi::ProgLoadAttr, log_size)), MemSize::W);
    copy_from_context(ContextLayout::kLogBuf, field(offsetof(abi::ProgLoadAttr, log_buf)), MemSize::DW);
    if (p.kind.attach_by_btf_id) {
      // r0 = bpf_btf_find_by_name_kind(name, size, kind, 0): the running
      // kernel's BTF id of the attach target (vmlinux; modules: not yet).
      btf_find_by_name_kind(target_name, static_cast<std::int32_t>(target_name_size), target_kind);
      if (optional) {
        e_.jump_if(JmpOp::SLt, r0, Imm{0}, skips.target_missing);
      } else {
        fail_if_negative({LoaderStep::Kind::FindAttachTarget, p.name});
      }
      blob_address(r1, field(offsetof(abi::ProgLoadAttr, attach_btf_id)));
      e_.emit(Store{MemSize::W, r1, 0, r0});
    }
    sys_bpf(abi::BpfCmd::ProgLoad, at, sizeof attr);
    fail_if_negative({LoaderStep::Kind::ProgLoad, p.name});
    store_result_fd(out_.context.prog_fd(i));
    if (optional) record_skips(i, *optional, skips);
  }

  struct Skips {
    Emitter::Label asked = 0, primary_loaded = 0, target_missing = 0, done = 0;
    bool fallback = false;        // primary_loaded is jumped to
    bool target_checked = false;  // target_missing is jumped to
  };
  // After an optional program's load: each way of skipping it writes its
  // ProgramOutcome into the setting's record.
  // The skipped program's fd slot is set to 0 whatever the caller passed:
  // a fallback asks it whether its primary loaded.
  void record_skips(std::uint32_t program, std::uint32_t k, const Skips& skips) {
    const auto record = e_.new_label();
    e_.jump_long(skips.done);
    e_.bind(skips.asked);
    e_.emit(Alu{AluOp::Mov, true, r1, Imm{static_cast<std::int32_t>(ProgramOutcome::SkippedAsAsked)}});
    e_.jump_long(record);
    // (The verifier refuses code no path reaches: only the used ones.)
    if (skips.fallback) {
      e_.bind(skips.primary_loaded);
      e_.emit(Alu{AluOp::Mov, true, r1, Imm{static_cast<std::int32_t>(ProgramOutcome::PrimaryLoaded)}});
      e_.jump_long(record);
    }
    if (skips.target_checked) {
      e_.bind(skips.target_missing);
      e_.emit(Alu{AluOp::Mov, true, r1, Imm{static_cast<std::int32_t>(ProgramOutcome::TargetMissing)}});
    }
    e_.bind(record);
    e_.emit(Store{MemSize::W, r6, static_cast<std::int16_t>(out_.context.setting_outcome(k)), r1});
    e_.emit(Store{MemSize::W, r6, static_cast<std::int16_t>(out_.context.prog_fd(program)), Imm{0}});
    e_.bind(skips.done);
  }

  // An optional kprobe's function, looked up in kallsyms as its attach
  // will: missing, the program is skipped (jump to `missing`). Other
  // attach methods are not looked up here.
  bool kprobe_target_present(const Program& p, Emitter::Label missing) {
    using object::AttachMethod;
    if (p.kind.attach != AttachMethod::Kprobe && p.kind.attach != AttachMethod::Kretprobe) return false;
    const std::string function = p.kind.attach_target.substr(0, p.kind.attach_target.find('+'));
    if (function.empty()) return false;
    const std::uint32_t name = blob_.add_string(function);
    const std::uint32_t result = blob_.add_zeros(8);
    kallsyms_lookup(name, static_cast<std::int32_t>(function.size() + 1), result);
    e_.jump_if(JmpOp::SLt, r0, Imm{0}, missing);
    return true;
  }

  // The failure path: close every fd the context holds, then return the error.
  void close_everything() {
    part("failure path: close every fd");
    e_.bind(cleanup_);
    auto close_slot = [&](std::uint32_t off) {
      const auto next = e_.new_label();
      e_.emit(Load{MemSize::W, false, r1, r6, static_cast<std::int16_t>(off)});
      e_.jump_if(JmpOp::SLe, r1, Imm{0}, next);
      close_and_clear_slot(static_cast<std::int16_t>(off));
      e_.bind(next);
    };
    close_slot(static_cast<std::uint32_t>(ContextLayout::kBtfFd));
    close_slot(static_cast<std::uint32_t>(ContextLayout::kScratchFd));
    for (std::uint32_t i = 0; i < out_.context.maps; ++i) close_slot(out_.context.map_fd(i));
    for (std::uint32_t i = 0; i < out_.context.programs; ++i) close_slot(out_.context.prog_fd(i));
    e_.emit(Load{MemSize::W, false, r0, r6, ContextLayout::kError});
    e_.emit(isa::Exit{});
  }

  const ObjectModel& model_;
  Emitter e_;
  BlobBuilder blob_;
  LoaderProgram out_;
  Emitter::Label cleanup_ = 0;
  std::uint32_t fd_array_ = 0;  // blob offset of the programs' fd_array (map fds by index)
  std::map<std::uint32_t, std::uint32_t> btf_lookups_;  // extern index -> blob slot of its lookup's result
};

}  // namespace

const char* step_kind_name(LoaderStep::Kind kind) {
  switch (kind) {
    case LoaderStep::Kind::BtfLoad: return "load BTF";
    case LoaderStep::Kind::InnerMapCreate: return "create the inner-map template of";
    case LoaderStep::Kind::ResolveKfunc: return "find kernel function";
    case LoaderStep::Kind::ResolveKsym: return "find kernel variable";
    case LoaderStep::Kind::SlotUpdate: return "fill slot";
    case LoaderStep::Kind::MapCreate: return "create map";
    case LoaderStep::Kind::MapUpdate: return "fill map";
    case LoaderStep::Kind::MapFreeze: return "freeze map";
    case LoaderStep::Kind::FindAttachTarget: return "find attach target of program";
    case LoaderStep::Kind::ProgLoad: return "load program";
    case LoaderStep::Kind::ContextBound: return "size by the possible CPUs";
    case LoaderStep::Kind::SettingBound: return "apply setting";
  }
  return "unknown step";
}

const std::string& region_at(const std::vector<Region>& regions, std::uint64_t offset) {
  static const std::string none;
  const std::string* found = &none;
  for (const auto& r : regions) {
    if (r.start > offset) break;
    found = &r.what;
  }
  return *found;
}

Result<LoaderProgram> generate_loader(const ObjectModel& model, const SettingsDeclaration& settings) { return Generator(model).run(settings); }

}  // namespace bpfsign::loader
