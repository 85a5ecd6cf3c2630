#include "bpfsign/loader/metadata_check.hpp"

#include <algorithm>
#include <cstring>

#include "bpfsign/abi/bpf_map_layout.hpp"
#include "bpfsign/common/value_area.hpp"
#include "bpfsign/isa/encode.hpp"
#include "bpfsign/loader/context_layout.hpp"
#include "bpfsign/loader/emitter.hpp"

namespace bpfsign::loader {

using isa::Alu;
using isa::AluOp;
using isa::Imm;
using isa::JmpOp;
using isa::Load;
using isa::MemSize;
using isa::Reg;
using isa::Store;

const char* variant_name(LoaderVariant variant) {
  switch (variant) {
    case LoaderVariant::Plain: return "plain";
    case LoaderVariant::LoaderChecked: return "loader-checked";
    case LoaderVariant::LoaderCheckedHashOnly: return "loader-checked-hash-only";
  }
  return "unknown";
}

std::vector<isa::Instruction> metadata_check(const Sha256& expected, LoaderVariant variant) {
  if (variant == LoaderVariant::Plain) return {};
  const bool check_exclusive = variant == LoaderVariant::LoaderChecked;
  constexpr Reg r0{0}, r1{1}, r2{2}, r3{3}, r4{4};
  Emitter e;
  const auto mismatch = e.new_label(), not_exclusive = e.new_label(), report = e.new_label(), done = e.new_label();
  // r2 = the metadata map itself (struct bpf_map *, read-only to us).
  e.emit(isa::LoadImm64{r2, isa::PseudoSrc::MapIdx, 0, 0});
  if (check_exclusive) {
    e.emit(Load{MemSize::W, false, r3, r2, abi::bpf_map::kExclOffset});
    e.jump_if(JmpOp::Eq, r3, Imm{0}, not_exclusive);
  }
  for (int i = 0; i < 4; ++i) {
    std::uint32_t lo = 0, hi = 0;
    std::memcpy(&lo, expected.data() + 8 * i, 4);
    std::memcpy(&hi, expected.data() + 8 * i + 4, 4);
    e.emit(Load{MemSize::DW, false, r3, r2, static_cast<std::int16_t>(abi::bpf_map::kShaOffset + 8 * i)});
    e.emit(isa::LoadImm64{r4, isa::PseudoSrc::Imm, static_cast<std::int32_t>(lo), static_cast<std::int32_t>(hi)});
    e.jump_if(JmpOp::Ne, r3, r4, mismatch);
  }
  e.jump_long(done);
  e.bind(mismatch);
  e.emit(Alu{AluOp::Mov, true, r3, Imm{kErrMetadataMismatch}});
  if (check_exclusive) {  // the verifier refuses unreachable code
    e.jump_long(report);
    e.bind(not_exclusive);
    e.emit(Alu{AluOp::Mov, true, r3, Imm{kErrMetadataNotExclusive}});
  }
  e.bind(report);
  e.emit(Store{MemSize::W, r1, ContextLayout::kError, r3});
  e.emit(Alu{AluOp::Mov, true, r3, Imm{static_cast<std::int32_t>(kStepMetadataCheck)}});
  e.emit(Store{MemSize::W, r1, ContextLayout::kFailedStep, r3});
  e.emit(Alu{AluOp::Mov, true, r0, Imm{0}});
  e.emit(Load{MemSize::W, false, r0, r1, ContextLayout::kError});
  e.emit(isa::Exit{});
  e.bind(done);
  auto insns = e.finish();
  if (!insns) internal_error("metadata check: " + insns.error().message);
  return std::move(insns).value();
}

std::optional<Sha256> embedded_metadata_hash(Bytes code, LoaderVariant variant) {
  if (variant == LoaderVariant::Plain) return std::nullopt;
  // Where metadata_check() puts the hash: after the map load (2 slots) and,
  // with the exclusivity test, a load and a jump (2 slots), four groups of
  // "load 8 bytes of sha[], ld_imm64 r4 (2 slots), jump if different"; the
  // two 32-bit immediates of group i's ld_imm64 are hash bytes 8i..8i+7.
  // The candidate read there is then proved by emitting the check for it
  // and comparing every byte, so a loader that differs anywhere in its
  // check yields nothing.
  constexpr std::size_t kSlot = 8;
  const std::size_t first_group = variant == LoaderVariant::LoaderChecked ? 4 : 2;
  Sha256 candidate{};
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t slot = first_group + 4 * i + 1;
    const std::size_t lo_at = slot * kSlot + 4, hi_at = (slot + 1) * kSlot + 4;
    if (hi_at + 4 > code.size()) return std::nullopt;
    std::memcpy(candidate.data() + 8 * i, code.data() + lo_at, 4);
    std::memcpy(candidate.data() + 8 * i + 4, code.data() + hi_at, 4);
  }
  const std::vector<std::uint8_t> expected = isa::encode_program(metadata_check(candidate, variant));
  if (code.size() < expected.size() || !std::equal(expected.begin(), expected.end(), code.begin())) return std::nullopt;
  return candidate;
}

std::size_t metadata_check_bytes(LoaderVariant variant) { return isa::encode_program(metadata_check(Sha256{}, variant)).size(); }

std::vector<std::uint8_t> encode_loader(const LoaderProgram& loader, LoaderVariant variant) {
  std::vector<std::uint8_t> out = isa::encode_program(metadata_check(value_area_hash(loader.blob), variant));
  out.insert(out.end(), loader.code.begin(), loader.code.end());
  return out;
}

}  // namespace bpfsign::loader
