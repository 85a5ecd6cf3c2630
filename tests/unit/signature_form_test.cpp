// Every byte counts: a signature is accepted only in the one canonical DER
// form bpfsign writes, each other form refused by the field that differs;
// and a single flipped bit anywhere in a signed bundle makes `verify`
// report a failed check.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "../vm/der_edit.hpp"
#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/bundle/sign_object.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/sign/keys.hpp"
#include "bpfsign/sign/pkcs7.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"
#include "test_support.hpp"

namespace bpfsign {
namespace {

struct Signer {
  sign::PrivateKey key;
  sign::Certificate cert;
};

const Signer& signer(sign::KeyAlgorithm algorithm) {
  static std::map<sign::KeyAlgorithm, Signer> signers;
  auto it = signers.find(algorithm);
  if (it == signers.end()) {
    auto key = sign::PrivateKey::generate(algorithm);
    auto cert = sign::make_certificate(*key, {});
    it = signers.emplace(algorithm, Signer{std::move(key).value(), std::move(cert).value()}).first;
  }
  return it->second;
}

const std::vector<std::uint8_t> kPayload = {'e', 'v', 'e', 'r', 'y', ' ', 'b', 'y', 't', 'e'};

std::vector<std::uint8_t> signature_by(const Signer& s) {
  auto sig = sign::sign_detached(s.key, s.cert, kPayload);
  EXPECT_TRUE(sig.ok()) << sig.error().message;
  return sig ? std::move(sig).value() : std::vector<std::uint8_t>{};
}

// The form check's verdict, as `verify` gets it (SignatureVerifier) and as
// signing and loading get it (check_kernel_rules): both must refuse, and say why.
std::string refusal(const std::vector<std::uint8_t>& sig, const Signer& s) {
  const std::vector<Bytes> payload = {Bytes(kPayload)};
  sign::SignatureVerifier verifier(s.cert);
  const auto checked = verifier.check(sig, payload);
  const auto rules = sign::check_kernel_rules(sig, s.cert);
  EXPECT_EQ(checked.form.ok(), rules.ok());
  if (rules.ok()) return "accepted";
  return rules.error().message;
}

class SignatureForm : public ::testing::TestWithParam<sign::KeyAlgorithm> {};

TEST_P(SignatureForm, WhatSignDetachedWritesIsAccepted) {
  const Signer& s = signer(GetParam());
  const auto sig = signature_by(s);
  EXPECT_EQ(refusal(sig, s), "accepted");
  sign::SignatureVerifier verifier(s.cert);
  const std::vector<Bytes> payload = {Bytes(kPayload)};
  EXPECT_TRUE(verifier.check(sig, payload).signature.ok());
}

// Fields no signature covers, each changed in place (the DER stays
// canonical): refused by name.
TEST_P(SignatureForm, EachFieldIsRefusedByName) {
  using namespace test::pkcs7_path;
  const Signer& s = signer(GetParam());
  const auto sig = signature_by(s);
  struct Case {
    const std::vector<int>* path;
    std::uint8_t last_octet;
    const char* expected;
  };
  const Case cases[] = {
      {&kSignedDataVersion, 2, "signature: SignedData version is 2, expected 3"},
      {&kSignedDataVersion, 1, "signature: SignedData version is 1, expected 3"},
      {&kSignerInfoVersion, 2, "signature: SignerInfo version is 2, expected 3"},
      {&kSignerInfoVersion, 1, "signature: SignerInfo version is 1, expected 3"},
      {&kDigestAlgorithmsOid, 0x02, "signature: digestAlgorithms is sha384 (2.16.840.1.101.3.4.2.2), expected sha256"},
      {&kDigestAlgorithmsOid, 0x41, "signature: digestAlgorithms is 2.16.840.1.101.3.4.2.65, expected sha256"},
      {&kEContentType, 0x05, "signature: eContentType is pkcs7-digestData (1.2.840.113549.1.7.5), expected id-data"},
      {&kSignerInfoDigestOid, 0x02, "signature: SignerInfo digestAlgorithm is sha384 (2.16.840.1.101.3.4.2.2), expected sha256"},
  };
  for (const auto& c : cases) {
    const auto changed = test::der_with_last_octet(sig, *c.path, c.last_octet);
    EXPECT_EQ(refusal(changed, s), c.expected);
  }
  // The signature algorithm another of the same family (a name for the same
  // computation, but not what bpfsign writes).
  const bool rsa = GetParam() != sign::KeyAlgorithm::EcdsaP256;
  const auto other_algorithm = test::der_with_last_octet(sig, kSignatureAlgorithmOid, rsa ? 0x0b : 0x03);
  EXPECT_EQ(refusal(other_algorithm, s), rsa ? "signature: SignerInfo signatureAlgorithm is sha256WithRSAEncryption (1.2.840.113549.1.1.11), "
                                               "expected rsaEncryption"
                                             : "signature: SignerInfo signatureAlgorithm is ecdsa-with-SHA384 (1.2.840.10045.4.3.3), "
                                               "expected ecdsa-with-SHA256");
  // Another key id.
  const auto sid = test::der_find(sig, kSignerInfoSid);
  ASSERT_TRUE(sid);
  auto other_id = sig;
  other_id[sid->offset + sid->header] ^= 0x01;
  EXPECT_NE(refusal(other_id, s).find("signature: SignerInfo sid names key id"), std::string::npos);
}

// The same values in another encoding: every element's length, in turn,
// written in long form with a leading zero. The form check refuses each
// one that OpenSSL reads, saying so (OpenSSL's reader itself refuses a long
// length on an element that ends its parent: the rsaEncryption NULL).
TEST_P(SignatureForm, NonCanonicalEncodingIsRefusedByName) {
  const Signer& s = signer(GetParam());
  const auto sig = signature_by(s);
  const auto elements = test::der_tree(sig).size();
  ASSERT_GT(elements, 15u);
  std::size_t unreadable = 0;
  for (std::size_t i = 0; i < elements; ++i) {
    const auto changed = test::der_with_long_length(sig, i);
    ASSERT_NE(changed, sig);
    const std::string why = refusal(changed, s);
    if (why.starts_with("signature: not a DER PKCS#7/CMS structure")) {
      ++unreadable;
      continue;
    }
    EXPECT_TRUE(why.starts_with("signature: not in canonical DER")) << "element " << i << ": " << why;
  }
  EXPECT_LE(unreadable, 1u);
  // And an indefinite length (BER), made by OpenSSL's own streaming output.
  const auto dir = test::temp_dir();
  ASSERT_TRUE(write_file_atomic(dir / "p", kPayload).ok());
  ASSERT_TRUE(s.key.write_pem(dir / "k.pem").ok());
  ASSERT_TRUE(s.cert.write_pem(dir / "c.pem").ok());
  auto r = test::run_command("openssl cms -sign -stream -binary -nocerts -noattr -keyid -md sha256 -outform DER -in " + (dir / "p").string() +
                             " -signer " + (dir / "c.pem").string() + " -inkey " + (dir / "k.pem").string() + " -out " +
                             (dir / "ber.der").string());
  ASSERT_EQ(r.status, 0) << r.err;
  auto ber = read_file(dir / "ber.der");
  ASSERT_TRUE(ber.ok());
  EXPECT_NE(refusal(*ber, s).find("signature: not in canonical DER"), std::string::npos) << refusal(*ber, s);
}

// Forms that OpenSSL's command line writes and kernels may well accept:
// bpfsign refuses them all, by name.
TEST_P(SignatureForm, OtherValidFormsAreRefusedByName) {
  const Signer& s = signer(GetParam());
  const auto dir = test::temp_dir();
  ASSERT_TRUE(write_file_atomic(dir / "p", kPayload).ok());
  ASSERT_TRUE(s.key.write_pem(dir / "k.pem").ok());
  ASSERT_TRUE(s.cert.write_pem(dir / "c.pem").ok());
  auto make = [&](const std::string& options) {
    const auto out = dir / "sig.der";
    auto r = test::run_command("openssl cms -sign -binary -md sha256 -outform DER -in " + (dir / "p").string() + " -signer " +
                               (dir / "c.pem").string() + " -inkey " + (dir / "k.pem").string() + " -out " + out.string() + " " + options);
    EXPECT_EQ(r.status, 0) << r.err;
    auto der = read_file(out);
    return der ? std::move(der).value() : std::vector<std::uint8_t>{};
  };
  auto expect_valid_but_refused = [&](const std::vector<std::uint8_t>& sig, const std::string& expected) {
    EXPECT_EQ(refusal(sig, s), expected);
    EXPECT_TRUE(sign::verify_detached(sig, kPayload, s.cert).ok()) << expected << ": still a valid signature";
  };
  expect_valid_but_refused(make("-nocerts -noattr -keyid"), "accepted");
  expect_valid_but_refused(make("-noattr -keyid"), "signature: carries certificates; the kernel's form has none");
  expect_valid_but_refused(make("-nocerts -keyid"), "signature: SignerInfo carries signed attributes (signedAttrs); the kernel's form has none");
  expect_valid_but_refused(make("-nocerts -noattr"), "signature: SignedData version is 1, expected 3");
  if (GetParam() != sign::KeyAlgorithm::EcdsaP256) {
    expect_valid_but_refused(make("-nocerts -noattr -keyid -keyopt rsa_padding_mode:pss"),
                             "signature: SignerInfo signatureAlgorithm is rsassaPss (1.2.840.113549.1.1.10), expected rsaEncryption");
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, SignatureForm, ::testing::Values(sign::KeyAlgorithm::Rsa2048, sign::KeyAlgorithm::EcdsaP256),
                         [](const auto& p) { return std::string(sign::key_algorithm_name(p.param)); });

// --- Every bit of a signed bundle ------------------------------------------

std::uint32_t u32_at(const std::vector<std::uint8_t>& b, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, b.data() + at, 4);
  return v;  // little-endian, as the bundle and this machine are
}
std::uint64_t u64_at(const std::vector<std::uint8_t>& b, std::size_t at) {
  std::uint64_t v = 0;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

struct Range {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The Source record (type 1), header to padding, found by walking the
// bundle's records as docs/bundle-format.md lays them out.
Range source_record(const std::vector<std::uint8_t>& bundle) {
  constexpr std::size_t kHeader = 24;
  constexpr std::size_t kRecordHeader = 16;
  const std::uint32_t records = u32_at(bundle, 12);
  std::size_t at = kHeader;
  for (std::uint32_t i = 0; i < records; ++i) {
    const std::uint32_t type = u32_at(bundle, at);
    const auto length = static_cast<std::size_t>(u64_at(bundle, at + 8));
    const std::size_t size = kRecordHeader + (length + 7) / 8 * 8;
    if (type == 1) return {at, at + size};
    at += size;
  }
  ADD_FAILURE() << "no Source record";
  return {};
}

// Whether `verify` refuses these bundle bytes: the reader refuses them, or
// the verifier reports at least one failed check.
bool refused(const std::vector<std::uint8_t>& bytes, const verify::Trust& trust) {
  auto b = bundle::parse_bundle(bytes, "flipped");
  if (!b) return true;
  return !verify::verify_bundle(*b, trust).ok();
}

class VerifyEveryBit : public ::testing::TestWithParam<sign::KeyAlgorithm> {};

// Every bit of every byte of a small bundle, flipped in turn, is caught.
// EXCEPT the Source record (the object's SHA-256 and file name, with its
// record header and padding), which no signature covers today: another
// change is moving that record under the signatures; until it lands, its
// bytes are skipped here. (Its length's low bits, flipped, make a name that
// ends in NUL bytes taken from the padding, which the reader accepts.)
TEST_P(VerifyEveryBit, EveryFlippedBitIsRefused) {
  const Signer& s = signer(GetParam());
  const auto object_path = std::filesystem::path(BPFSIGN_CORPUS_DIR) / "isa_v1.bpf.o";
  auto object = read_file(object_path);
  ASSERT_TRUE(object.ok()) << object.error().message;
  auto signed_bundle = bundle::sign_object(*object, "isa_v1.bpf.o", s.key, s.cert);
  ASSERT_TRUE(signed_bundle.ok()) << signed_bundle.error().message;
  const auto bytes = bundle::serialize_bundle(*signed_bundle);
  const verify::Trust trust{{s.cert}, {}, {}, {}};
  ASSERT_FALSE(refused(bytes, trust)) << "the unchanged bundle verifies";

  const Range source = source_record(bytes);
  ASSERT_LT(source.begin, source.end);
  std::vector<std::string> accepted;
  std::size_t flips = 0;
  const auto start = std::chrono::steady_clock::now();
  auto changed = bytes;
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    if (at >= source.begin && at < source.end) continue;
    for (int bit = 0; bit < 8; ++bit) {
      changed[at] = static_cast<std::uint8_t>(bytes[at] ^ (1u << bit));
      ++flips;
      if (!refused(changed, trust)) accepted.push_back(std::to_string(at) + ":" + std::to_string(bit));
    }
    changed[at] = bytes[at];
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("flips", static_cast<int>(flips));
  std::string list;
  for (std::size_t i = 0; i < accepted.size() && i < 20; ++i) list += " " + accepted[i];
  EXPECT_TRUE(accepted.empty()) << accepted.size() << " of " << flips << " flips (byte:bit) still verify:" << list;
  std::printf("%zu-byte bundle, %zu flips, %.1f s\n", bytes.size(), flips, seconds);
}

INSTANTIATE_TEST_SUITE_P(Keys, VerifyEveryBit, ::testing::Values(sign::KeyAlgorithm::Rsa2048, sign::KeyAlgorithm::EcdsaP256),
                         [](const auto& p) { return std::string(sign::key_algorithm_name(p.param)); });

}  // namespace
}  // namespace bpfsign
