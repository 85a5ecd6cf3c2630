#include "bpfsign/verify/reproduce.hpp"

#include <algorithm>

#include "bpfsign/isa/decode.hpp"
#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/loader/manifest.hpp"
#include "bpfsign/loader/metadata_check.hpp"
#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace bpfsign::verify {

namespace {

std::size_t first_difference(Bytes a, Bytes b) {
  const auto n = std::min(a.size(), b.size());
  const auto [ia, ib] = std::mismatch(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin());
  return static_cast<std::size_t>(ia - a.begin());
}

// The instruction starting at or covering `slot` of `code`, as text.
std::string instruction_at(Bytes code, std::size_t slot) {
  auto decoded = isa::decode_program(code);
  if (!decoded) return "(undecodable: " + decoded.error().message + ")";
  for (const auto& p : *decoded) {
    if (p.pc <= slot && slot < p.pc + isa::slot_count(p.insn)) return isa::to_string(p.insn);
  }
  return "(past the end)";
}

Check compare_bytes(const std::string& id, const std::string& what, Bytes expected, Bytes actual, const std::vector<loader::Region>& regions) {
  if (std::equal(expected.begin(), expected.end(), actual.begin(), actual.end())) {
    return {id, what, true, fmt::format("identical, {} bytes", expected.size())};
  }
  const std::size_t at = first_difference(expected, actual);
  const std::string& in = loader::region_at(regions, at);
  std::string detail = in.empty() ? fmt::format("first difference at byte {}", at) : fmt::format("first difference at byte {} (in: {})", at, in);
  if (at < expected.size() && at < actual.size()) {
    detail += fmt::format(": generated {:#04x}, bundle {:#04x}", expected[at], actual[at]);
  } else {
    detail += fmt::format(": generated {} bytes, bundle {}", expected.size(), actual.size());
  }
  return {id, what, false, detail};
}

Check compare_code(const std::string& id, const std::string& what, Bytes expected, Bytes actual, const std::vector<loader::Region>& regions) {
  if (std::equal(expected.begin(), expected.end(), actual.begin(), actual.end())) {
    return {id, what, true, fmt::format("identical, {} instructions", expected.size() / 8)};
  }
  const std::size_t slot = first_difference(expected, actual) / 8;
  std::string detail = fmt::format("first difference at instruction {} (in: {})", slot, loader::region_at(regions, slot));
  if (slot * 8 < expected.size() && slot * 8 < actual.size()) {
    detail += fmt::format(": generated `{}`, bundle `{}`", instruction_at(expected, slot), instruction_at(actual, slot));
  } else {
    detail += fmt::format(": generated {} instructions, bundle {}", expected.size() / 8, actual.size() / 8);
  }
  return {id, what, false, detail};
}

// The regions of a checked loader: its metadata check, then the plain
// loader's parts shifted by the check's length.
std::vector<loader::Region> with_check_regions(const std::vector<loader::Region>& plain, std::size_t check_slots) {
  std::vector<loader::Region> out{{0, "metadata check"}};
  for (const auto& r : plain) out.push_back({static_cast<std::uint32_t>(r.start + check_slots), r.what});
  return out;
}

}  // namespace

bool ReproduceReport::ok() const {
  return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

Result<ReproduceReport> reproduce(Bytes object, const std::string& name, const bundle::Bundle& b) {
  ReproduceReport report;
  const Sha256 digest = sha256(object);
  const bool same_source = digest == b.source_sha256;
  report.checks.push_back({"source", "the object is the bundle's source", same_source,
                           same_source ? fmt::format("SHA-256 {}", to_hex(digest))
                                       : fmt::format("{} has SHA-256 {}, the bundle was made from {} ({})", name, to_hex(digest),
                                                     b.source_name, to_hex(b.source_sha256))});
  auto elf = object::ElfFile::parse({object.begin(), object.end()}, name);
  if (!elf) return elf.error();
  auto model = object::read_object(*elf);
  if (!model) return model.error();
  // The settings the signer declared, as the bundle's manifest records
  // them: part of what is generated (a manifest that does not parse
  // reproduces nothing, and says why).
  loader::LoaderProgram recorded;
  if (auto ok = loader::parse_manifest(b.manifest, recorded); !ok) return ok.error().with_context("the bundle's manifest");
  auto generated = loader::generate_loader(*model, loader::declaration_of(recorded.settings, recorded.programs));
  if (!generated) return generated.error();
  const loader::LoaderProgram& g = *generated;

  report.checks.push_back(compare_bytes("manifest", "manifest", loader::serialize_manifest(g), b.manifest, {}));
  report.checks.push_back(compare_bytes("metadata", "metadata (the blob)", g.blob, b.metadata, g.blob_regions));
  report.checks.push_back(compare_code("loader_plain", "loader (kernel-chained, hash-chain)", g.code, b.loader_plain, g.code_regions));
  // Each checked loader, under its stable check id (--json).
  for (auto [variant, id] : {std::pair{loader::LoaderVariant::LoaderChecked, "loader_checked"},
                             std::pair{loader::LoaderVariant::LoaderCheckedHashOnly, "loader_checked_hash_only"}}) {
    const std::vector<std::uint8_t>& code = b.loader(variant);
    if (code.empty()) continue;
    const std::string variant_name = loader::variant_name(variant);
    const std::size_t check_slots = loader::metadata_check_bytes(variant) / 8;
    report.checks.push_back(compare_code(id, fmt::format("loader ({})", variant_name), loader::encode_loader(g, variant), code,
                                         with_check_regions(g.code_regions, check_slots)));
  }
  return report;
}

}  // namespace bpfsign::verify
