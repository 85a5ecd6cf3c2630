#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "bpfsign/isa/encode.hpp"

namespace bpfsign::test {

std::vector<std::filesystem::path> corpus_objects() {
  std::vector<std::filesystem::path> out;
  const std::filesystem::path dir = BPFSIGN_CORPUS_DIR;
  if (dir.empty() || !std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string().ends_with(".bpf.o")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::filesystem::path temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bpfsign-test-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return std::filesystem::path(buf.data());
}

CommandOutput run_command(const std::string& command) {
  auto dir = temp_dir();
  auto out_path = dir / "out", err_path = dir / "err";
  std::string full = command + " >" + out_path.string() + " 2>" + err_path.string();
  CommandOutput result;
  int raw = std::system(full.c_str());
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  std::filesystem::remove_all(dir);
  return result;
}

std::vector<std::uint8_t> bytes_of(const std::vector<isa::RawInsn>& raws) {
  std::vector<std::uint8_t> bytes(raws.size() * isa::kInsnSize);
  for (std::size_t i = 0; i < raws.size(); ++i) isa::raw_to_bytes(raws[i], bytes.data() + i * isa::kInsnSize);
  return bytes;
}

bool needs_alu32_syntax(const isa::Instruction& insn) {
  const auto* a = std::get_if<isa::Atomic>(&insn);
  return a && a->size == isa::MemSize::W && !(a->op == isa::AtomicOp::Add && !a->fetch);
}

}  // namespace bpfsign::test
