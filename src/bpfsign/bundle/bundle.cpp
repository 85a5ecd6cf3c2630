#include "bpfsign/bundle/bundle.hpp"

#include <algorithm>
#include <cstring>

#include "bpfsign/common/checked_math.hpp"
#include "bpfsign/sign/pkcs7.hpp"

namespace bpfsign::bundle {

namespace {

class Writer {
 public:
  void bytes(Bytes b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  void pad() { out_.resize((out_.size() + 7) & ~std::size_t{7}, 0); }
  std::vector<std::uint8_t>& out() { return out_; }

  // One record: header, body written by `body`, padding.
  template <typename F>
  void record(RecordType type, F&& body) {
    const std::size_t at = out_.size();
    u32(static_cast<std::uint32_t>(type));
    u32(0);
    u64(0);
    const std::size_t start = out_.size();
    body(*this);
    const std::uint64_t len = out_.size() - start;
    std::memcpy(out_.data() + at + 8, &len, 8);
    pad();
    ++records_;
  }
  std::uint32_t records() const { return records_; }

 private:
  template <typename T>
  void put(T v) {
    std::uint8_t b[sizeof v];
    std::memcpy(b, &v, sizeof v);
    out_.insert(out_.end(), b, b + sizeof v);
  }
  std::vector<std::uint8_t> out_;
  std::uint32_t records_ = 0;
};

// The order records appear in: by type, then by variant or scheme.
std::uint64_t record_key(std::uint32_t type, std::uint32_t sub) { return (static_cast<std::uint64_t>(type) << 32) | sub; }

Sha256 take_sha(ByteReader& r) {
  Sha256 out{};
  auto b = r.take(32, "hash");
  std::copy(b->begin(), b->end(), out.begin());
  return out;
}

}  // namespace

LoaderVariant variant_for(sign::Scheme scheme) {
  switch (scheme) {
    case sign::Scheme::LoaderChecked: return LoaderVariant::MetadataCheck;
    case sign::Scheme::LoaderCheckedHashOnly: return LoaderVariant::MetadataCheckHashOnly;
    default: return LoaderVariant::Plain;
  }
}

const std::vector<std::uint8_t>& Bundle::loader_for(sign::Scheme scheme) const {
  switch (variant_for(scheme)) {
    case LoaderVariant::MetadataCheck: return loader_checked;
    case LoaderVariant::MetadataCheckHashOnly: return loader_checked_hash_only;
    case LoaderVariant::Plain: break;
  }
  return loader_plain;
}

const SignatureRecord* Bundle::signature_for(sign::Scheme scheme) const {
  for (const auto& s : signatures) {
    if (s.scheme == scheme) return &s;
  }
  return nullptr;
}

std::vector<std::uint8_t> serialize_bundle(const Bundle& b) {
  Writer w;
  w.bytes(kMagic);
  w.u32(kVersion);
  w.u32(0);  // record count, patched below
  w.u64(0);  // total size, patched below
  w.record(RecordType::Source, [&](Writer& x) {
    x.bytes(b.source_sha256);
    x.bytes(std::span(reinterpret_cast<const std::uint8_t*>(b.source_name.data()), b.source_name.size()));
  });
  w.record(RecordType::Metadata, [&](Writer& x) { x.bytes(b.metadata); });
  w.record(RecordType::Manifest, [&](Writer& x) { x.bytes(b.manifest); });
  w.record(RecordType::Loader, [&](Writer& x) {
    x.u32(static_cast<std::uint32_t>(LoaderVariant::Plain));
    x.u32(0);
    x.bytes(b.loader_plain);
  });
  for (auto [variant, code] : {std::pair{LoaderVariant::MetadataCheck, &b.loader_checked},
                                std::pair{LoaderVariant::MetadataCheckHashOnly, &b.loader_checked_hash_only}}) {
    if (code->empty()) continue;
    w.record(RecordType::Loader, [&](Writer& x) {
      x.u32(static_cast<std::uint32_t>(variant));
      x.u32(0);
      x.bytes(*code);
    });
  }
  std::vector<SignatureRecord> sigs = b.signatures;
  std::sort(sigs.begin(), sigs.end(), [](const auto& l, const auto& r) { return l.scheme < r.scheme; });
  for (const auto& s : sigs) {
    w.record(RecordType::Signature, [&](Writer& x) {
      x.u32(static_cast<std::uint32_t>(s.scheme));
      x.u32(0);
      x.bytes(s.der);
    });
  }
  if (b.chain) {
    w.record(RecordType::ChainLinks, [&](Writer& x) {
      x.u32(static_cast<std::uint32_t>(b.chain->maps.size()));
      x.u32(0);
      x.bytes(b.chain->insns);
      for (const auto& m : b.chain->maps) x.bytes(m);
      x.bytes(b.chain->top);
    });
  }
  w.record(RecordType::Signer, [&](Writer& x) {
    x.u32(static_cast<std::uint32_t>(b.signer_key_id.size()));
    x.bytes(b.signer_key_id);
    x.bytes(b.signer_certificate);
  });
  auto& out = w.out();
  const std::uint32_t count = w.records();
  const std::uint64_t total = out.size();
  std::memcpy(out.data() + 12, &count, 4);
  std::memcpy(out.data() + 16, &total, 8);
  return std::move(out);
}

Result<Bundle> parse_bundle(Bytes data, const std::string& what) {
  auto fail = [&](const Error& e) { return e.with_context(what); };
  ByteReader r(data);
  auto magic = r.take(kMagic.size(), "bundle magic");
  if (!magic) return fail(bad_input("not a bpfsign bundle: {} bytes is shorter than its header", data.size()));
  if (!std::equal(magic->begin(), magic->end(), kMagic.begin())) return fail(bad_input("not a bpfsign bundle (bad magic at offset 0)"));
  auto version = r.read<std::uint32_t>("bundle version");
  auto count = r.read<std::uint32_t>("record count");
  auto total = r.read<std::uint64_t>("total size");
  if (!total) return fail(total.error());
  if (*version != kVersion) return fail(bad_input("bundle version {} is not supported (this bpfsign reads version {})", *version, kVersion));
  if (*total != data.size()) {
    return fail(bad_input("header says {} bytes, the file has {} ({})", *total, data.size(), *total > data.size() ? "truncated" : "trailing bytes"));
  }
  if (*count > 64) return fail(bad_input("{} records is more than a bundle has (at most 64)", *count));

  Bundle b;
  std::uint64_t last_key = 0;
  bool seen_source = false, seen_metadata = false, seen_manifest = false, seen_signer = false;
  for (std::uint32_t i = 0; i < *count; ++i) {
    const std::size_t at = r.offset();
    auto type = r.read<std::uint32_t>("record type");
    auto flags = r.read<std::uint32_t>("record flags");
    auto length = r.read<std::uint64_t>("record length");
    if (!length) return fail(length.error().with_context(fmt::format("record {}", i)));
    if (*flags != 0) return fail(bad_input("record {} at offset {}: flags {:#x}, expected 0", i, at, *flags));
    if (*length > kMaxRecord) return fail(bad_input("record {} at offset {}: length {} exceeds {}", i, at, *length, kMaxRecord));
    auto body = r.take(*length, "record body");
    if (!body) return fail(body.error().with_context(fmt::format("record {} (type {})", i, *type)));
    const std::size_t pad = static_cast<std::size_t>((8 - (*length % 8)) % 8);
    auto padding = r.take(pad, "record padding");
    if (!padding) return fail(padding.error().with_context(fmt::format("record {}", i)));
    if (std::any_of(padding->begin(), padding->end(), [](std::uint8_t x) { return x != 0; })) {
      return fail(bad_input("record {} at offset {}: non-zero padding", i, at));
    }
    auto where = [&] { return fmt::format("record {} at offset {}", i, at); };  // only when refusing
    // Records come in one canonical order (type, then variant or scheme),
    // checked before a body is read: repeated records cannot hide.
    std::uint32_t sub = 0;
    const bool keyed = *type == static_cast<std::uint32_t>(RecordType::Loader) || *type == static_cast<std::uint32_t>(RecordType::Signature);
    if (keyed && body->size() >= 4) std::memcpy(&sub, body->data(), 4);
    const std::uint64_t key = record_key(*type, sub);
    if (key <= last_key) return fail(bad_input("{}: record type {} out of order or repeated", where(), *type));
    last_key = key;
    ByteReader br(*body);
    switch (static_cast<RecordType>(*type)) {
      case RecordType::Source: {
        if (body->size() < 32 || body->size() > 32 + 4096) return fail(bad_input("{}: source record of {} bytes", where(), body->size()));
        b.source_sha256 = take_sha(br);
        b.source_name.assign(body->begin() + 32, body->end());
        seen_source = true;
        break;
      }
      case RecordType::Metadata:
        if (body->empty() || body->size() > kMaxMetadata || body->size() % 8 != 0) {
          return fail(bad_input("{}: metadata of {} bytes (expected a non-empty multiple of 8 up to {})", where(), body->size(), kMaxMetadata));
        }
        b.metadata.assign(body->begin(), body->end());
        seen_metadata = true;
        break;
      case RecordType::Manifest:
        b.manifest.assign(body->begin(), body->end());
        seen_manifest = true;
        break;
      case RecordType::Loader: {
        auto variant = br.read<std::uint32_t>("loader variant");
        auto zero = br.read<std::uint32_t>("loader reserved");
        if (!zero) return fail(zero.error().with_context(where()));
        if (*zero != 0) return fail(bad_input("{}: reserved field is {}, expected 0", where(), *zero));
        const Bytes code = body->subspan(8);
        if (code.empty() || code.size() % 8 != 0 || code.size() > kMaxLoader) {
          return fail(bad_input("{}: loader of {} bytes (expected a non-empty multiple of 8 up to {})", where(), code.size(), kMaxLoader));
        }
        if (*variant == static_cast<std::uint32_t>(LoaderVariant::Plain)) {
          b.loader_plain.assign(code.begin(), code.end());
        } else if (*variant == static_cast<std::uint32_t>(LoaderVariant::MetadataCheck)) {
          b.loader_checked.assign(code.begin(), code.end());
        } else if (*variant == static_cast<std::uint32_t>(LoaderVariant::MetadataCheckHashOnly)) {
          b.loader_checked_hash_only.assign(code.begin(), code.end());
        } else {
          return fail(bad_input("{}: unknown loader variant {}", where(), *variant));
        }
        break;
      }
      case RecordType::Signature: {
        auto raw = br.read<std::uint32_t>("signature scheme");
        auto zero = br.read<std::uint32_t>("signature reserved");
        if (!zero) return fail(zero.error().with_context(where()));
        if (*zero != 0) return fail(bad_input("{}: reserved field is {}, expected 0", where(), *zero));
        auto scheme = sign::parse_scheme(*raw);
        if (!scheme) return fail(scheme.error().with_context(where()));
        const Bytes der = body->subspan(8);
        if (der.empty() || der.size() > sign::kMaxSignatureSize) {
          return fail(bad_input("{}: signature of {} bytes (expected 1 to {})", where(), der.size(), sign::kMaxSignatureSize));
        }
        b.signatures.push_back({*scheme, {der.begin(), der.end()}});
        break;
      }
      case RecordType::ChainLinks: {
        auto n = br.read<std::uint32_t>("chain map count");
        auto zero = br.read<std::uint32_t>("chain reserved");
        if (!zero) return fail(zero.error().with_context(where()));
        if (*zero != 0) return fail(bad_input("{}: reserved field is {}, expected 0", where(), *zero));
        if (*n == 0 || *n > 64 || body->size() != 8 + 32 * (static_cast<std::uint64_t>(*n) + 2)) {
          return fail(bad_input("{}: chain of {} maps in {} bytes (expected 1 to 64 maps, 8 + 32 x (maps + 2) bytes)", where(), *n, body->size()));
        }
        ChainLinkRecord c;
        c.insns = take_sha(br);
        for (std::uint32_t k = 0; k < *n; ++k) c.maps.push_back(take_sha(br));
        c.top = take_sha(br);
        b.chain = std::move(c);
        break;
      }
      case RecordType::Signer: {
        auto n = br.read<std::uint32_t>("key id length");
        if (!n) return fail(n.error().with_context(where()));
        if (*n == 0 || *n > 64) return fail(bad_input("{}: key id of {} bytes (expected 1 to 64)", where(), *n));
        auto keyid = br.take(*n, "key id");
        if (!keyid) return fail(keyid.error().with_context(where()));
        b.signer_key_id.assign(keyid->begin(), keyid->end());
        const Bytes cert = body->subspan(4 + *n);
        if (cert.empty()) return fail(bad_input("{}: no certificate", where()));
        b.signer_certificate.assign(cert.begin(), cert.end());
        seen_signer = true;
        break;
      }
      default:
        return fail(bad_input("{}: unknown record type {} (this bpfsign reads bundle version {})", where(), *type, kVersion));
    }
  }
  if (!r.at_end()) return fail(bad_input("{} bytes after the last record at offset {}", r.remaining(), r.offset()));
  if (!seen_source || !seen_metadata || !seen_manifest || !seen_signer || b.loader_plain.empty()) {
    return fail(bad_input("incomplete bundle: needs source, metadata, manifest, plain loader and signer records"));
  }
  if (b.signatures.empty()) return fail(bad_input("bundle carries no signature"));
  for (const auto& s : b.signatures) {
    if (b.loader_for(s.scheme).empty()) return fail(bad_input("a {} signature without the loader it signs", sign::scheme_name(s.scheme)));
  }
  if ((b.signature_for(sign::Scheme::HashChain) != nullptr) != b.chain.has_value()) {
    return fail(bad_input("hash-chain signature and chain links come together"));
  }
  return b;
}

}  // namespace bpfsign::bundle
