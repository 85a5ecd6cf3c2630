// Runs inside a kernel booted under qemu (tests/vm/run-sig-forms.sh): which
// other forms of a loader's PKCS#7 signature the kernel accepts. Signs one
// object with a fresh RSA-2048 key (enrolled in a keyring of this process),
// then loads the loader of the scheme this kernel enforces with its
// signature altered in one way at a time, and prints the kernel's answer:
//   FORM <case> <accepted|errno N (name)> | <message>
// bpfsign's own form check refuses every altered form (docs/signing.md,
// "The signature's form").
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <regex>
#include <string>
#include <vector>


#include <fmt/core.h>
#include <openssl/cms.h>
#include <openssl/rsa.h>

#include "bpfsign/bundle/sign_object.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/kernel/keyring.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/kernel_probe.hpp"
#include "bpfsign/sign/keys.hpp"
#include "bpfsign/sign/pkcs7.hpp"
#include "bpfsign/sign/scheme.hpp"
#include "der_edit.hpp"

namespace fs = std::filesystem;
using namespace bpfsign;

namespace {

struct CmsOptions {
  bool certificates = false;
  bool signed_attributes = false;
  bool pss = false;
  bool key_id = true;
};

// A detached SHA-256 SignedData over `payload`, as OpenSSL makes it with `o`.
std::vector<std::uint8_t> cms_sign(const sign::PrivateKey& key, const sign::Certificate& cert, Bytes payload, const CmsOptions& o) {
  const unsigned nocerts = o.certificates ? 0u : static_cast<unsigned>(CMS_NOCERTS);
  CMS_ContentInfo* cms = CMS_sign(nullptr, nullptr, nullptr, nullptr, nocerts | CMS_PARTIAL | CMS_BINARY | CMS_DETACHED);
  unsigned flags = nocerts | CMS_BINARY | CMS_NOSMIMECAP;
  if (o.key_id) flags |= CMS_USE_KEYID;
  if (!o.signed_attributes) flags |= CMS_NOATTR;
  if (o.pss) flags |= CMS_KEY_PARAM;
  CMS_SignerInfo* si = cms != nullptr ? CMS_add1_signer(cms, cert.get(), key.get(), EVP_sha256(), flags) : nullptr;
  if (si != nullptr && o.pss) EVP_PKEY_CTX_set_rsa_padding(CMS_SignerInfo_get0_pkey_ctx(si), RSA_PKCS1_PSS_PADDING);
  BIO* in = BIO_new_mem_buf(payload.data(), static_cast<int>(payload.size()));
  std::vector<std::uint8_t> out;
  unsigned char* der = nullptr;
  int len = 0;
  if (si != nullptr && in != nullptr && CMS_final(cms, in, nullptr, nocerts | CMS_BINARY) == 1 && (len = i2d_CMS_ContentInfo(cms, &der)) > 0) {
    out.assign(der, der + len);
  }
  OPENSSL_free(der);
  BIO_free(in);
  CMS_ContentInfo_free(cms);
  return out;
}

int errno_of(const std::string& message) {
  static const std::regex re(R"(errno (\d+))");
  std::smatch m;
  return std::regex_search(message, m, re) ? std::stoi(m[1]) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: sig_forms DIR (holding subprogs.bpf.o)\n");
    return 2;
  }
  const fs::path dir = argv[1];
  const load::KernelProbe& probe = load::running_kernel();
  if (probe.scheme_error || !probe.scheme) {
    fmt::print("KERNEL {} scheme=none\n", probe.features.release);
    return 1;
  }
  const sign::Scheme scheme = *probe.scheme;
  fmt::print("KERNEL {} scheme={}\n", probe.features.release, sign::scheme_name(scheme));

  auto key = sign::PrivateKey::generate(sign::KeyAlgorithm::Rsa2048);
  if (!key) return 1;
  sign::CertificateRequest request;
  request.common_name = "bpfsign sig_forms";
  auto cert = sign::make_certificate(*key, request);
  auto keyring = kernel::resolve_keyring("sig_forms", true);
  if (!cert || !keyring) return 1;
  if (auto enrolled = kernel::add_certificate(cert->der(), *keyring, ""); !enrolled) {
    fmt::print("ENROL failed | {}\n", enrolled.error().message);
    return 1;
  }
  auto object = read_file(dir / "subprogs.bpf.o");
  if (!object) return 1;
  const sign::Scheme schemes[] = {scheme};
  auto b = bundle::sign_object(*object, "subprogs.bpf.o", *key, *cert, schemes);
  if (!b) {
    fmt::print("SIGN failed | {}\n", b.error().message);
    return 1;
  }
  load::KernelProbe kernel;
  kernel.features.checks_signatures = true;
  kernel.scheme = scheme;
  load::TrustOptions trust;
  trust.keyring = *keyring;
  auto plan = load::plan_bundle_load(*b, "bundle", kernel, trust);
  if (!plan) {
    fmt::print("PLAN failed | {}\n", plan.error().message);
    return 1;
  }
  const Bytes metadata[] = {plan->metadata};
  const auto payload = sign::signed_payload(scheme, plan->loader_code, metadata);
  const std::vector<std::uint8_t> canonical = plan->signature;

  auto attempt = [&](const std::string& name, const std::vector<std::uint8_t>& signature) {
    load::LoadPlan changed = *plan;
    changed.signature = signature;
    const auto form = sign::check_kernel_rules(signature, *cert);
    auto loaded = load::load_loader(changed);
    std::string answer = "accepted";
    std::string message;
    if (!loaded) {
      message = loaded.error().message;
      const int e = errno_of(message);
      answer = fmt::format("errno {} ({})", e, e != 0 ? strerrorname_np(e) : "?");
    }
    fmt::print("FORM {} {} | bpfsign: {} | {}\n", name, answer, form ? "accepted" : form.error().message, message.substr(0, 200));
    std::fflush(stdout);
  };
  using namespace test::pkcs7_path;
  attempt("canonical", canonical);
  attempt("rsa-pss", cms_sign(*key, *cert, payload, {.pss = true}));
  attempt("certificate-embedded", cms_sign(*key, *cert, payload, {.certificates = true}));
  attempt("signed-attributes", cms_sign(*key, *cert, payload, {.signed_attributes = true}));
  attempt("sid-issuer-serial", cms_sign(*key, *cert, payload, {.key_id = false}));
  attempt("digestAlgorithms-sha384", test::der_with_last_octet(canonical, kDigestAlgorithmsOid, 0x02));
  attempt("digestAlgorithms-unknown", test::der_with_last_octet(canonical, kDigestAlgorithmsOid, 0x41));
  attempt("SignedData-version-1", test::der_with_last_octet(canonical, kSignedDataVersion, 1));
  attempt("SignerInfo-version-2", test::der_with_last_octet(canonical, kSignerInfoVersion, 2));
  attempt("SignerInfo-version-1", test::der_with_last_octet(canonical, kSignerInfoVersion, 1));
  attempt("eContentType-digestData", test::der_with_last_octet(canonical, kEContentType, 0x05));
  attempt("SignerInfo-digest-sha384", test::der_with_last_octet(canonical, kSignerInfoDigestOid, 0x02));
  attempt("sigalg-sha256WithRSA", test::der_with_last_octet(canonical, kSignatureAlgorithmOid, 0x0b));
  const auto tree = test::der_tree(canonical);
  for (std::size_t i = 0; i < tree.size(); ++i) {
    if (tree[i].path == kSignerInfoVersion) attempt("long-form-length", test::der_with_long_length(canonical, i));
  }
  fmt::print("FORMS-DONE\n");
  return 0;
}
