#include "bpfsign/audit/lskel_header.hpp"

#include <charconv>

#include "bpfsign/audit/lskel_form.hpp"
#include "bpfsign/audit/lskel_grammar.hpp"

namespace bpfsign::audit {

namespace {

// Walks the load function against a form, one exact piece at a time.
class LoadFunctionReader {
 public:
  LoadFunctionReader(std::string_view text, std::size_t pos, const std::string& what) : text_(text), pos_(pos), what_(what) {}

  std::size_t pos() const { return pos_; }

  bool at(std::string_view piece) const { return text_.substr(pos_, piece.size()) == piece; }

  Status expect(std::string_view piece) {
    if (!at(piece)) return mismatch(piece);
    pos_ += piece.size();
    return Ok{};
  }

  // A decimal size such as `opts.data_sz = 5208`.
  Result<std::uint64_t> number() {
    std::uint64_t v = 0;
    const char* begin = text_.data() + pos_;
    const auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), v);
    if (ec != std::errc{} || end == begin) return bad_input("{}: line {}: expected a decimal size", what_, line_at(text_, pos_));
    pos_ += static_cast<std::size_t>(end - begin);
    return v;
  }

  // A literal exactly as bpftool's print_hex writes it: "\ and a newline,
  // then \0 or \xNN (lowercase) escapes with \-newline breaks, then ".
  Result<std::vector<std::uint8_t>> literal() {
    if (auto r = expect("\"\\\n"); !r.ok()) return r.error();
    std::vector<std::uint8_t> out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (at("\\\n")) {
        pos_ += 2;
      } else if (at("\\0")) {
        out.push_back(0);
        pos_ += 2;
      } else if (at("\\x") && pos_ + 4 <= text_.size() && is_hex(text_[pos_ + 2]) && is_hex(text_[pos_ + 3])) {
        const auto byte = static_cast<std::uint8_t>(hex(text_[pos_ + 2]) * 16 + hex(text_[pos_ + 3]));
        if (byte == 0) return bad_input("{}: line {}: a zero byte written as backslash-x-00 (bpftool writes backslash-0)", what_, line_at(text_, pos_));
        out.push_back(byte);
        pos_ += 4;
      } else {
        return bad_input("{}: line {}: a literal not in bpftool's form (bpftool writes only backslash-0, backslash-x with two lowercase hex "
                         "digits, and backslash-newline)", what_,
                         line_at(text_, pos_));
      }
    }
    if (auto r = expect("\""); !r.ok()) return r.error();
    return out;
  }

 private:
  static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
  static unsigned hex(char c) { return c <= '9' ? static_cast<unsigned>(c - '0') : static_cast<unsigned>(c - 'a' + 10); }

  // Names the first line where the text and the form part, with the line
  // bpftool writes there.
  Error mismatch(std::string_view piece) const {
    std::size_t same = 0;
    while (same < piece.size() && pos_ + same < text_.size() && text_[pos_ + same] == piece[same]) ++same;
    const std::size_t line_start = piece.rfind('\n', same == 0 ? 0 : same - 1);
    const std::size_t from = (line_start == std::string_view::npos || same == 0) ? 0 : line_start + 1;
    std::size_t to = piece.find('\n', from);
    if (to == std::string_view::npos) to = piece.size();
    std::string_view expected = piece.substr(from, to - from);
    while (!expected.empty() && expected.front() == '\t') expected.remove_prefix(1);
    return bad_input("{}: line {}: the load function differs from bpftool's form, which has here: '{}'", what_, line_at(text_, pos_ + same),
                     expected.empty() ? std::string_view("(an empty line)") : expected);
  }

  std::string_view text_;
  std::size_t pos_;
  const std::string& what_;
};

// The form of bpftool 7.1 (Debian 12): literals assigned inline with
// numeric sizes, which must equal the literals' lengths.
Status read_inline_form(LoadFunctionReader& r, LightSkeleton& out, const std::string& what, std::string_view text) {
  auto sized = [&](std::string_view field, std::vector<std::uint8_t>& into) -> Status {
    if (auto e = r.expect(fmt::format("\topts.{}_sz = ", field)); !e.ok()) return e;
    const std::size_t at = r.pos();
    auto declared = r.number();
    if (!declared) return declared.error();
    if (auto e = r.expect(fmt::format(";\n\topts.{} = (void *)", field)); !e.ok()) return e;
    auto bytes = r.literal();
    if (!bytes) return bytes.error();
    if (auto e = r.expect(";\n"); !e.ok()) return e;
    if (*declared != bytes->size()) {
      return bad_input("{}: line {}: opts.{} holds {} bytes, opts.{}_sz says {}", what, line_at(text, at), field, bytes->size(), field, *declared);
    }
    into = std::move(bytes).value();
    return Ok{};
  };
  if (auto e = r.expect("\n\topts.ctx = (struct bpf_loader_ctx *)skel;\n"); !e.ok()) return e;
  if (auto e = sized("data", out.data); !e.ok()) return e;
  if (auto e = sized("insns", out.insns); !e.ok()) return e;
  return Ok{};
}

// The later form: literals in static arrays, sizes by sizeof; with -S the
// signature and exclusive-map hash arrays and their assignments.
Status read_array_form(LoadFunctionReader& r, LightSkeleton& out) {
  auto array = [&](std::string_view name, std::vector<std::uint8_t>& into) -> Status {
    if (auto e = r.expect(fmt::format("\tstatic const char {}[] __attribute__((__aligned__(8))) = ", name)); !e.ok()) return e;
    auto bytes = r.literal();
    if (!bytes) return bytes.error();
    into = std::move(bytes).value();
    return r.expect(";\n");
  };
  if (auto e = array("opts_data", out.data); !e.ok()) return e;
  if (auto e = array("opts_insn", out.insns); !e.ok()) return e;
  if (r.at("\tstatic const char opts_sig[]")) {
    if (auto e = array("opts_sig", out.signature); !e.ok()) return e;
    if (auto e = array("opts_excl_hash", out.excl_prog_hash); !e.ok()) return e;
    if (auto e = r.expect("\topts.signature = (void *)opts_sig;\n"
                          "\topts.signature_sz = sizeof(opts_sig) - 1;\n"
                          "\topts.excl_prog_hash = (void *)opts_excl_hash;\n"
                          "\topts.excl_prog_hash_sz = sizeof(opts_excl_hash) - 1;\n"
                          "\topts.keyring_id = skel->keyring_id;\n");
        !e.ok()) {
      return e;
    }
  }
  return r.expect("\topts.ctx = (struct bpf_loader_ctx *)skel;\n"
                  "\topts.data_sz = sizeof(opts_data) - 1;\n"
                  "\topts.data = (void *)opts_data;\n"
                  "\topts.insns_sz = sizeof(opts_insn) - 1;\n"
                  "\topts.insns = (void *)opts_insn;\n"
                  "\n");
}

}  // namespace

bool is_light_skeleton(std::string_view text) {
  return text.find("bpf_load_and_run") != std::string_view::npos || text.find("skel_internal.h") != std::string_view::npos;
}

Result<LightSkeleton> parse_light_skeleton(std::string_view text, const std::string& what) {
  auto form = check_light_skeleton_form(text, what);
  if (!form) return form.error();
  if (auto grammar = check_light_skeleton_grammar(text, form->object_name, what); !grammar) return grammar.error();
  LightSkeleton out;
  out.object_name = form->object_name;
  const std::string& name = out.object_name;
  const std::string head = fmt::format("\nstatic inline int\n{0}__load(struct {0} *skel)\n{{\n", name);
  const std::size_t at = text.find(head);
  if (at == std::string_view::npos) return bad_input("{}: no '{}__load' function in bpftool's form", what, name);
  if (text.find(head, at + 1) != std::string_view::npos) return bad_input("{}: line {}: a second '{}__load' function", what, line_at(text, text.find(head, at + 1)), name);
  LoadFunctionReader r(text, at + head.size(), what);
  if (auto e = r.expect("\tstruct bpf_load_and_run_opts opts = {};\n\tint err;\n"); !e.ok()) return e.error();
  auto form_read = r.at("\tstatic const char ") ? read_array_form(r, out) : read_inline_form(r, out, what, text);
  if (!form_read.ok()) return form_read.error();
  if (auto e = r.expect("\terr = bpf_load_and_run(&opts);\n\tif (err < 0)\n\t\treturn err;\n"); !e.ok()) return e.error();
  if (out.insns.empty() || out.insns.size() % 8 != 0) {
    return bad_input("{}: the loader of {} bytes is not a whole number of instructions", what, out.insns.size());
  }
  return out;
}

}  // namespace bpfsign::audit
