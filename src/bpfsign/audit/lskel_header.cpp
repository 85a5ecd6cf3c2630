#include "bpfsign/audit/lskel_header.hpp"

#include <cctype>
#include <charconv>

namespace bpfsign::audit {

namespace {

std::size_t line_of(std::string_view text, std::size_t pos) {
  std::size_t n = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) n += text[i] == '\n' ? 1u : 0u;
  return n;
}

// Decodes the C string literal starting at text[pos] == '"'; bpftool writes
// \xNN, \0, \\, \" and line continuations.
Result<std::vector<std::uint8_t>> literal(std::string_view text, std::size_t pos, const std::string& what) {
  std::vector<std::uint8_t> out;
  std::size_t i = pos + 1;
  auto fail = [&](const char* why) { return bad_input("{}: line {}: {}", what, line_of(text, i), why); };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') return out;
    if (c == '\n') return fail("unterminated string literal");
    if (c != '\\') {
      out.push_back(static_cast<std::uint8_t>(c));
      ++i;
      continue;
    }
    if (i + 1 >= text.size()) return fail("escape at the end of the file");
    const char e = text[i + 1];
    if (e == '\n') {
      i += 2;  // line continuation
    } else if (e == 'x') {
      std::size_t j = i + 2;
      unsigned v = 0;
      std::size_t digits = 0;
      while (j < text.size() && digits < 2 && std::isxdigit(static_cast<unsigned char>(text[j]))) {
        const char h = text[j];
        v = v * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        ++j;
        ++digits;
      }
      if (digits == 0) return fail("\\x without hex digits");
      out.push_back(static_cast<std::uint8_t>(v));
      i = j;
    } else if (e >= '0' && e <= '7') {
      std::size_t j = i + 1;
      unsigned v = 0;
      for (std::size_t k = 0; k < 3 && j < text.size() && text[j] >= '0' && text[j] <= '7'; ++k, ++j) v = v * 8 + static_cast<unsigned>(text[j] - '0');
      if (v > 255) return fail("octal escape above 255");
      out.push_back(static_cast<std::uint8_t>(v));
      i = j;
    } else if (e == '\\' || e == '"' || e == '\'') {
      out.push_back(static_cast<std::uint8_t>(e));
      i += 2;
    } else if (e == 'n') {
      out.push_back('\n');
      i += 2;
    } else if (e == 't') {
      out.push_back('\t');
      i += 2;
    } else {
      return fail("unknown escape");
    }
  }
  return fail("unterminated string literal");
}

Result<std::vector<std::uint8_t>> field(std::string_view text, std::string_view name, const std::string& what) {
  const std::string assign = "opts." + std::string(name) + " = (void *)\"";
  const auto at = text.find(assign);
  if (at == std::string_view::npos) return bad_input("{}: no opts.{} literal (not a bpftool light skeleton?)", what, name);
  if (text.find(assign, at + 1) != std::string_view::npos) return bad_input("{}: line {}: opts.{} assigned twice", what, line_of(text, at), name);
  auto bytes = literal(text, at + assign.size() - 1, what);
  if (!bytes) return bytes.error();
  const std::string size_assign = "opts." + std::string(name) + "_sz = ";
  const auto sz = text.find(size_assign);
  if (sz == std::string_view::npos) return bad_input("{}: no opts.{}_sz", what, name);
  std::uint64_t declared = 0;
  const char* begin = text.data() + sz + size_assign.size();
  const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), declared);
  if (ec != std::errc{} || end == begin) return bad_input("{}: line {}: opts.{}_sz is not a number", what, line_of(text, sz), name);
  // The literal's terminating NUL is not part of the data.
  if (declared != bytes->size()) {
    return bad_input("{}: line {}: opts.{} holds {} bytes, opts.{}_sz says {}", what, line_of(text, at), name, bytes->size(), name, declared);
  }
  return bytes;
}

}  // namespace

bool is_light_skeleton(std::string_view text) {
  return text.find("opts.insns = (void *)\"") != std::string_view::npos && text.find("bpf_load_and_run") != std::string_view::npos;
}

Result<LightSkeleton> parse_light_skeleton(std::string_view text, const std::string& what) {
  auto insns = field(text, "insns", what);
  if (!insns) return insns.error();
  auto data = field(text, "data", what);
  if (!data) return data.error();
  if (insns->empty() || insns->size() % 8 != 0) return bad_input("{}: opts.insns of {} bytes is not a whole number of instructions", what, insns->size());
  return LightSkeleton{std::move(insns).value(), std::move(data).value()};
}

}  // namespace bpfsign::audit
