// Whole instruction streams: decoding every corpus object's code agrees
// with llvm-objdump-19 -d, instruction by instruction, and streams that are
// cut short or malformed are refused with the instruction index and offset.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "bpfsign/isa/decode.hpp"
#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/isa/encode.hpp"
#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/program_listing.hpp"
#include "test_support.hpp"

namespace bpfsign::isa {
namespace {

// llvm-objdump's listing: section name -> slot index -> instruction text,
// with the symbolised jump targets (" <prog+0x70>") removed.
using ObjdumpListing = std::map<std::string, std::map<std::size_t, std::string>>;

ObjdumpListing run_objdump(const std::filesystem::path& obj, bool alu32) {
  auto res = test::run_command(fmt::format("{} -d {} {}", BPFSIGN_LLVM_OBJDUMP, alu32 ? "--mattr=+alu32" : "",
                                           obj.string()));
  EXPECT_EQ(res.status, 0) << res.err;
  ObjdumpListing listing;
  static const std::regex section_re(R"(^Disassembly of section (.*):$)");
  static const std::regex insn_re(R"(^\s*(\d+):\t(?:[0-9a-f]{2} )*[0-9a-f]{2}\t(.*)$)");
  static const std::regex target_re(R"( <[^ <>]*>$)");
  std::string section;
  std::istringstream lines(res.out);
  std::smatch m;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, m, section_re)) {
      section = m[1];
    } else if (std::regex_match(line, m, insn_re)) {
      listing[section][std::stoul(m[1])] = std::regex_replace(std::string(m[2]), target_re, "");
    }
  }
  return listing;
}

TEST(IsaCorpus, DecoderAgreesWithLlvmObjdumpOnEveryInstruction) {
  auto objects = test::corpus_objects();
  ASSERT_GE(objects.size(), 10u) << "corpus not built (BPFSIGN_BUILD_CORPUS)";
  std::size_t compared = 0;
  for (const auto& obj : objects) {
    SCOPED_TRACE(obj.filename().string());
    auto file = object::ElfFile::open(obj);
    ASSERT_TRUE(file.ok()) << file.error().message;
    auto listings = object::list_programs(*file);
    ASSERT_TRUE(listings.ok()) << listings.error().message;
    const auto plain = run_objdump(obj, false);
    const auto alu32 = run_objdump(obj, true);
    std::size_t ours_in_object = 0;
    for (const auto& l : *listings) {
      const std::string name(l.section->name);
      ASSERT_TRUE(plain.count(name)) << "llvm-objdump has no section " << name;
      EXPECT_EQ(l.instructions.size(), plain.at(name).size()) << name;
      for (const auto& p : l.instructions) {
        const auto& reference = test::needs_alu32_syntax(p.insn) ? alu32 : plain;
        auto it = reference.at(name).find(p.pc);
        ASSERT_NE(it, reference.at(name).end()) << name << " pc " << p.pc;
        EXPECT_EQ(to_string(p.insn), it->second) << name << " pc " << p.pc;
        ++compared;
        ++ours_in_object;
      }
    }
    EXPECT_GT(ours_in_object, 0u);
    // Every section llvm-objdump disassembles is one we decoded.
    for (const auto& [name, insns] : plain) {
      bool found = false;
      for (const auto& l : *listings) found = found || l.section->name == name;
      EXPECT_TRUE(found) << "we skipped section " << name;
    }
  }
  RecordProperty("instructions_compared", static_cast<int>(compared));
  EXPECT_GT(compared, 1000u);
}

TEST(IsaCorpus, DecodeEncodeGivesBackEveryCorpusSection) {
  for (const auto& obj : test::corpus_objects()) {
    auto file = object::ElfFile::open(obj);
    ASSERT_TRUE(file.ok());
    for (const auto& sec : file->sections()) {
      if (!sec.is_program()) continue;
      auto insns = decode_program(sec.data);
      ASSERT_TRUE(insns.ok()) << insns.error().message;
      std::vector<Instruction> program;
      for (auto& p : *insns) program.push_back(p.insn);
      auto bytes = encode_program(program);
      EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), sec.data.begin(), sec.data.end()))
          << obj.filename() << " " << sec.name;
    }
  }
}

TEST(IsaProgram, StreamLengthMustBeWholeSlots) {
  std::vector<std::uint8_t> bytes(12, 0);
  auto r = decode_program(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a multiple of 8"), std::string::npos);
}

TEST(IsaProgram, ErrorsNameTheInstructionAndOffset) {
  std::vector<RawInsn> raws{{0xb7, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}, {0xff, 0, 0, 0, 0}};
  auto r = decode_program(test::bytes_of(raws));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("instruction 2 (byte offset 16)"), std::string::npos) << r.error().message;
}

TEST(IsaProgram, TruncatedLdImm64AtTheEndIsRefused) {
  std::vector<RawInsn> raws{{0x95, 0, 0, 0, 0}, {0x18, 1, 0, 0, 7}};
  auto r = decode_program(test::bytes_of(raws));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("instruction 1"), std::string::npos);
  EXPECT_NE(r.error().message.find("missing its second slot"), std::string::npos);
}

TEST(IsaProgram, SlotsAreCountedAcrossLdImm64) {
  std::vector<RawInsn> raws{{0x18, 1, 0, 0, 7}, {0, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}};
  auto r = decode_program(test::bytes_of(raws));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].pc, 2u);
  EXPECT_EQ(disassemble(*r), "       0:\tr1 = 0x7 ll\n       2:\texit\n");
}

}  // namespace
}  // namespace bpfsign::isa
