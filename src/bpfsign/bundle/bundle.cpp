#include "bpfsign/bundle/bundle.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

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

const std::vector<std::uint8_t>& Bundle::loader(LoaderVariant variant) const {
  switch (variant) {
    case LoaderVariant::Plain: return loader_plain;
    case LoaderVariant::LoaderChecked: return loader_checked;
    case LoaderVariant::LoaderCheckedHashOnly: return loader_checked_hash_only;
  }
  internal_error("Bundle::loader: unknown variant");
}

std::vector<std::uint8_t>& Bundle::loader(LoaderVariant variant) {
  return const_cast<std::vector<std::uint8_t>&>(std::as_const(*this).loader(variant));
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
  for (LoaderVariant variant : loader::kLoaderVariants) {  // in variant order; the plain one always
    const auto& code = b.loader(variant);
    if (code.empty() && variant != LoaderVariant::Plain) continue;
    w.record(RecordType::Loader, [&](Writer& x) {
      x.u32(static_cast<std::uint32_t>(variant));
      x.u32(0);
      x.bytes(code);
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

namespace {

// One record as framed in the file: its header checked, its body and its
// zero padding taken. `at` is the header's offset, for errors.
struct RecordFrame {
  std::uint32_t index = 0;
  std::size_t at = 0;
  std::uint32_t type = 0;
  Bytes body;
  std::string where() const { return fmt::format("record {} at offset {}", index, at); }
};

Status read_header(ByteReader& r, Bytes data, std::uint32_t& count) {
  auto magic = r.take(kMagic.size(), "bundle magic");
  if (!magic) return bad_input("not a bpfsign bundle: {} bytes is shorter than its header", data.size());
  if (!std::equal(magic->begin(), magic->end(), kMagic.begin())) return bad_input("not a bpfsign bundle (bad magic at offset 0)");
  auto version = r.read<std::uint32_t>("bundle version");
  auto records = r.read<std::uint32_t>("record count");
  auto total = r.read<std::uint64_t>("total size");
  if (!total) return total.error();
  if (*version != kVersion) return bad_input("bundle version {} is not supported (this bpfsign reads version {})", *version, kVersion);
  if (*total != data.size()) {
    return bad_input("header says {} bytes, the file has {} ({})", *total, data.size(), *total > data.size() ? "truncated" : "trailing bytes");
  }
  if (*records > 64) return bad_input("{} records is more than a bundle has (at most 64)", *records);
  count = *records;
  return Ok{};
}

Result<RecordFrame> read_frame(ByteReader& r, std::uint32_t index) {
  RecordFrame f;
  f.index = index;
  f.at = r.offset();
  auto type = r.read<std::uint32_t>("record type");
  auto flags = r.read<std::uint32_t>("record flags");
  auto length = r.read<std::uint64_t>("record length");
  if (!length) return length.error().with_context(fmt::format("record {}", index));
  if (*flags != 0) return bad_input("{}: flags {:#x}, expected 0", f.where(), *flags);
  if (*length > kMaxRecord) return bad_input("{}: length {} exceeds {}", f.where(), *length, kMaxRecord);
  auto body = r.take(*length, "record body");
  if (!body) return body.error().with_context(fmt::format("record {} (type {})", index, *type));
  const std::size_t pad = static_cast<std::size_t>((8 - (*length % 8)) % 8);
  auto padding = r.take(pad, "record padding");
  if (!padding) return padding.error().with_context(fmt::format("record {}", index));
  if (std::any_of(padding->begin(), padding->end(), [](std::uint8_t x) { return x != 0; })) {
    return bad_input("{}: non-zero padding", f.where());
  }
  f.type = *type;
  f.body = *body;
  return f;
}

// Records come in one canonical order (type, then variant or scheme),
// checked before a body is read: repeated records cannot hide.
Status check_order(const RecordFrame& f, std::uint64_t& last_key) {
  std::uint32_t sub = 0;
  const bool keyed = f.type == static_cast<std::uint32_t>(RecordType::Loader) || f.type == static_cast<std::uint32_t>(RecordType::Signature);
  if (keyed && f.body.size() >= 4) std::memcpy(&sub, f.body.data(), 4);
  const std::uint64_t key = record_key(f.type, sub);
  if (key <= last_key) return bad_input("{}: record type {} out of order or repeated", f.where(), f.type);
  last_key = key;
  return Ok{};
}

// The u32 that leads a loader, signature or chain record, and the reserved
// u32 after it, which must be 0.
Result<std::uint32_t> read_lead(ByteReader& br, const RecordFrame& f, const char* what) {
  auto lead = br.read<std::uint32_t>(what);
  auto zero = br.read<std::uint32_t>("reserved field");
  if (!zero) return zero.error().with_context(f.where());
  if (*zero != 0) return bad_input("{}: reserved field is {}, expected 0", f.where(), *zero);
  return *lead;
}

Status read_source(const RecordFrame& f, Bundle& b) {
  if (f.body.size() < 32 || f.body.size() > 32 + 4096) return bad_input("{}: source record of {} bytes", f.where(), f.body.size());
  ByteReader br(f.body);
  b.source_sha256 = take_sha(br);
  b.source_name.assign(f.body.begin() + 32, f.body.end());
  return Ok{};
}

Status read_metadata(const RecordFrame& f, Bundle& b) {
  if (f.body.empty() || f.body.size() > kMaxMetadata || f.body.size() % 8 != 0) {
    return bad_input("{}: metadata of {} bytes (expected a non-empty multiple of 8 up to {})", f.where(), f.body.size(), kMaxMetadata);
  }
  b.metadata.assign(f.body.begin(), f.body.end());
  return Ok{};
}

Status read_loader(const RecordFrame& f, Bundle& b) {
  ByteReader br(f.body);
  auto raw = read_lead(br, f, "loader variant");
  if (!raw) return raw.error();
  const Bytes code = f.body.subspan(8);
  if (code.empty() || code.size() % 8 != 0 || code.size() > kMaxLoader) {
    return bad_input("{}: loader of {} bytes (expected a non-empty multiple of 8 up to {})", f.where(), code.size(), kMaxLoader);
  }
  for (LoaderVariant variant : loader::kLoaderVariants) {
    if (*raw != static_cast<std::uint32_t>(variant)) continue;
    b.loader(variant).assign(code.begin(), code.end());
    return Ok{};
  }
  return bad_input("{}: unknown loader variant {}", f.where(), *raw);
}

Status read_signature(const RecordFrame& f, Bundle& b) {
  ByteReader br(f.body);
  auto raw = read_lead(br, f, "signature scheme");
  if (!raw) return raw.error();
  auto scheme = sign::parse_scheme(*raw);
  if (!scheme) return scheme.error().with_context(f.where());
  const Bytes der = f.body.subspan(8);
  if (der.empty() || der.size() > sign::kMaxSignatureSize) {
    return bad_input("{}: signature of {} bytes (expected 1 to {})", f.where(), der.size(), sign::kMaxSignatureSize);
  }
  b.signatures.push_back({*scheme, {der.begin(), der.end()}});
  return Ok{};
}

Status read_chain(const RecordFrame& f, Bundle& b) {
  ByteReader br(f.body);
  auto n = read_lead(br, f, "chain map count");
  if (!n) return n.error();
  if (*n == 0 || *n > 64 || f.body.size() != 8 + 32 * (static_cast<std::uint64_t>(*n) + 2)) {
    return bad_input("{}: chain of {} maps in {} bytes (expected 1 to 64 maps, 8 + 32 x (maps + 2) bytes)", f.where(), *n, f.body.size());
  }
  ChainLinkRecord c;
  c.insns = take_sha(br);
  for (std::uint32_t k = 0; k < *n; ++k) c.maps.push_back(take_sha(br));
  c.top = take_sha(br);
  b.chain = std::move(c);
  return Ok{};
}

Status read_signer(const RecordFrame& f, Bundle& b) {
  ByteReader br(f.body);
  auto n = br.read<std::uint32_t>("key id length");
  if (!n) return n.error().with_context(f.where());
  if (*n == 0 || *n > 64) return bad_input("{}: key id of {} bytes (expected 1 to 64)", f.where(), *n);
  auto keyid = br.take(*n, "key id");
  if (!keyid) return keyid.error().with_context(f.where());
  b.signer_key_id.assign(keyid->begin(), keyid->end());
  const Bytes cert = f.body.subspan(4 + *n);
  if (cert.empty()) return bad_input("{}: no certificate", f.where());
  b.signer_certificate.assign(cert.begin(), cert.end());
  return Ok{};
}

// Each record type's reader; `seen` marks the records a bundle must have.
struct Seen {
  bool source = false, metadata = false, manifest = false, signer = false;
};

Status read_record(const RecordFrame& f, Bundle& b, Seen& seen) {
  switch (static_cast<RecordType>(f.type)) {
    case RecordType::Source: seen.source = true; return read_source(f, b);
    case RecordType::Metadata: seen.metadata = true; return read_metadata(f, b);
    case RecordType::Manifest:
      seen.manifest = true;
      b.manifest.assign(f.body.begin(), f.body.end());
      return Ok{};
    case RecordType::Loader: return read_loader(f, b);
    case RecordType::Signature: return read_signature(f, b);
    case RecordType::ChainLinks: return read_chain(f, b);
    case RecordType::Signer: seen.signer = true; return read_signer(f, b);
  }
  return bad_input("{}: unknown record type {} (this bpfsign reads bundle version {})", f.where(), f.type, kVersion);
}

// What no single record shows: every required record present, every
// signature with the loader it signs, the chain links with the hash-chain
// signature.
Status check_complete(const Bundle& b, const Seen& seen) {
  if (!seen.source || !seen.metadata || !seen.manifest || !seen.signer || b.loader_plain.empty()) {
    return bad_input("incomplete bundle: needs source, metadata, manifest, plain loader and signer records");
  }
  if (b.signatures.empty()) return bad_input("bundle carries no signature");
  for (const auto& s : b.signatures) {
    if (b.loader_for(s.scheme).empty()) return bad_input("a {} signature without the loader it signs", sign::scheme_name(s.scheme));
  }
  if ((b.signature_for(sign::Scheme::HashChain) != nullptr) != b.chain.has_value()) {
    return bad_input("hash-chain signature and chain links come together");
  }
  return Ok{};
}

}  // namespace

Result<Bundle> parse_bundle(Bytes data, const std::string& what) {
  ByteReader r(data);
  std::uint32_t count = 0;
  if (auto ok = read_header(r, data, count); !ok) return ok.error().with_context(what);
  Bundle b;
  Seen seen;
  std::uint64_t last_key = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    auto frame = read_frame(r, i);
    if (!frame) return frame.error().with_context(what);
    if (auto ok = check_order(*frame, last_key); !ok) return ok.error().with_context(what);
    if (auto ok = read_record(*frame, b, seen); !ok) return ok.error().with_context(what);
  }
  if (!r.at_end()) return bad_input("{} bytes after the last record at offset {}", r.remaining(), r.offset()).with_context(what);
  if (auto ok = check_complete(b, seen); !ok) return ok.error().with_context(what);
  return b;
}

}  // namespace bpfsign::bundle
