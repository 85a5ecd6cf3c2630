// libFuzzer target for a settings declaration (`sign --settings FILE`):
// the JSON parser, and - with $BPFSIGN_FUZZ_SETTINGS_OBJECT naming a BPF
// object (scripts/fuzz.sh gives runtime_settings.bpf.o) - its resolution
// against that object, the loader generated with it, the manifest written
// and read back, and the decoder over the result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/loader/manifest.hpp"
#include "bpfsign/loader/settings.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace {

const bpfsign::object::ObjectModel* target_object() {
  static std::optional<bpfsign::object::ObjectModel> model = [] () -> std::optional<bpfsign::object::ObjectModel> {
    const char* path = std::getenv("BPFSIGN_FUZZ_SETTINGS_OBJECT");
    if (path == nullptr) return std::nullopt;
    auto m = bpfsign::object::read_object_file(path);
    if (!m) std::abort();  // a broken seed object is the harness's fault
    return std::move(m).value();
  }();
  return model ? &*model : nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bpfsign;
  auto declaration = loader::parse_settings_declaration(Bytes(data, size), "fuzz input");
  if (!declaration) return 0;
  const object::ObjectModel* model = target_object();
  if (model == nullptr) return 0;
  auto generated = loader::generate_loader(*model, *declaration);
  if (!generated) return 0;
  loader::LoaderProgram parsed;
  if (!loader::parse_manifest(loader::serialize_manifest(*generated), parsed)) std::abort();  // what we write, we read
  auto decoded = audit::decode_loader(generated->code, generated->blob);
  if (!decoded || !decoded->unexplained.empty()) std::abort();  // every generated loader is explained
  return 0;
}
