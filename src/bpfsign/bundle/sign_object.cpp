#include "bpfsign/bundle/sign_object.hpp"

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "bpfsign/sign/signer_policy.hpp"

namespace bpfsign::bundle {

Result<Bundle> sign_object(Bytes object, const std::string& source_name, const sign::PrivateKey& key, const sign::Certificate& cert,
                           std::span<const sign::Scheme> schemes, const loader::SettingsDeclaration& settings) {
  // A signature the verifying side would refuse is not made: the signer
  // policy is the same for both (docs/signing.md#signer-policy).
  if (auto policy = sign::check_signer(cert, {}); !policy) return bad_input("signing certificate: {}", policy.error().message);
  auto elf = object::ElfFile::parse(std::vector<std::uint8_t>(object.begin(), object.end()), source_name);
  if (!elf) return elf.error();
  auto model = object::read_object(*elf);
  if (!model) return model.error();
  auto loader = loader::generate_loader(*model, settings);
  if (!loader) return loader.error().with_context(source_name);
  return build_bundle({*loader, object, source_name, key, cert, {schemes.begin(), schemes.end()}});
}

}  // namespace bpfsign::bundle
