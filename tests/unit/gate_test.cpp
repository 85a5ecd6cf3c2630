// The gate's ABI without a kernel: the policy record and the log record
// that user space writes and reads (gate_abi.hpp) have the layout the
// gate's BPF programs were compiled with, read from the embedded object's
// own BTF; and a policy resolves into the record the programs read.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/gate/gate_abi.hpp"
#include "bpfsign/gate/policy.hpp"
#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace bpfsign::gate {
namespace {

struct Layout {
  std::uint32_t size = 0;
  std::map<std::string, std::uint32_t> offsets;  // member name -> byte offset
};

Layout layout_of(const btf::Btf& b, const char* name) {
  Layout out;
  auto id = b.find(name, btf::Kind::Struct);
  if (!id) {
    ADD_FAILURE() << "no struct " << name << " in the gate's BTF";
    return out;
  }
  out.size = b.size_or_type(*id);
  for (const auto& m : b.members(*id)) out.offsets[std::string(b.string_at(m.name_off))] = (m.offset & 0xffffff) / 8;
  return out;
}

TEST(Gate, UserSpaceAndTheBpfProgramsShareOneLayout) {
  const Bytes bytes = gate_object();
  auto elf = object::ElfFile::parse(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), "gate");
  ASSERT_TRUE(elf.ok()) << elf.error().message;
  auto model = object::read_object(*elf);
  ASSERT_TRUE(model.ok()) << model.error().message;
  ASSERT_TRUE(model->btf.has_value());
  const Layout config = layout_of(*model->btf, "gate_config");
  EXPECT_EQ(config.size, sizeof(GateConfig));
  EXPECT_EQ(config.offsets.at("prog_types"), offsetof(GateConfig, prog_types));
  EXPECT_EQ(config.offsets.at("scope_cgroup_id"), offsetof(GateConfig, scope_cgroup_id));
  EXPECT_EQ(config.offsets.at("keyring_serial"), offsetof(GateConfig, keyring_serial));
  EXPECT_EQ(config.offsets.at("own_prog_ids"), offsetof(GateConfig, own_prog_ids));
  EXPECT_EQ(config.offsets.at("own_link_ids"), offsetof(GateConfig, own_link_ids));
  const Layout event = layout_of(*model->btf, "gate_event");
  EXPECT_EQ(event.size, sizeof(GateEvent));
  EXPECT_EQ(event.offsets.at("keyring_serial"), offsetof(GateEvent, keyring_serial));
  EXPECT_EQ(event.offsets.at("decision"), offsetof(GateEvent, decision));
  EXPECT_EQ(event.offsets.at("rule"), offsetof(GateEvent, rule));
  EXPECT_EQ(event.offsets.at("name"), offsetof(GateEvent, name));
  EXPECT_EQ(event.offsets.at("comm"), offsetof(GateEvent, comm));
  EXPECT_EQ(event.offsets.at("seq"), offsetof(GateEvent, seq));
  // Six LSM hooks, fentry and fexit; their ids fit the policy record.
  EXPECT_EQ(model->programs.size(), 8u);
  EXPECT_LE(model->programs.size(), kMaxOwn);
}

TEST(Gate, APolicyResolvesIntoTheRecordTheProgramsRead) {
  const std::string text = R"({"mode": "audit", "signers": [{"keyring_serial": 42}], "program_types": ["tracepoint", "kprobe"],
                               "map_types": ["hash"], "unsigned_loads": "admit"})";
  auto p = parse_policy(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), "p.json");
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto c = resolve_policy(*p);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->mode, Mode::Audit);
  EXPECT_EQ(c->admit_unsigned, 1u);
  EXPECT_EQ(c->keyrings, 1u);
  EXPECT_EQ(c->keyring_serial[0], 42);
  EXPECT_EQ(c->prog_types, (std::uint64_t{1} << 5) | (std::uint64_t{1} << 2));  // tracepoint 5, kprobe 2
  EXPECT_EQ(c->map_types, std::uint64_t{1} << 1);                               // hash 1
  EXPECT_EQ(c->scope_cgroup_id, 0u) << "no scope: every task";
}

TEST(Gate, ACertificateSignerIsEnrolledIntoItsKeyringDefaultBpfsignGate) {
  const std::string text = R"({"mode": "enforce", "signers": [{"certificate": "/etc/a.pem"}, {"certificate": "/etc/b.pem", "keyring": "b"}]})";
  auto p = parse_policy(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), "p.json");
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->signers.size(), 2u);
  EXPECT_EQ(p->signers[0].certificate, "/etc/a.pem");
  EXPECT_EQ(p->signers[0].keyring, "bpfsign-gate");
  EXPECT_EQ(p->signers[1].keyring, "b");
  EXPECT_FALSE(p->signers[1].serial.has_value());
  // Reading the files comes first: a missing one is reported before any
  // keyring is touched.
  auto c = resolve_policy(*p);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("/etc/a.pem"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace bpfsign::gate
