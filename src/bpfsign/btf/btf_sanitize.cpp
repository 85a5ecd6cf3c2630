#include "bpfsign/btf/btf_sanitize.hpp"

namespace bpfsign::btf {

std::uint32_t sanitize_for_kernel(Btf& btf, const KernelBtfFeatures& f) {
  std::uint32_t rewritten = 0;
  std::uint32_t enum64_placeholder = 0;
  const std::uint32_t count = btf.type_count();  // types added below are not revisited
  for (std::uint32_t id = 1; id <= count; ++id) {
    const Kind k = btf.kind(id);
    const std::uint32_t vlen = btf.vlen(id);
    if ((!f.datasec && k == Kind::Var) || (!f.decl_tag && k == Kind::DeclTag)) {
      // A 1-byte INT: any larger size could exceed the variable it replaces.
      btf.set_word(id, 1, make_info(Kind::Int, 0, false));
      btf.set_word(id, 2, 1);
      btf.set_word(id, 3, 8);  // 8 bits, offset 0, no encoding
    } else if (!f.datasec && k == Kind::Datasec) {
      // A STRUCT whose members are the variables; '.' is not valid in a
      // struct name, so the section name is rewritten too.
      btf.replace_string_chars(btf.name_off(id), '.', '_');
      for (std::uint32_t i = 0; i < vlen; ++i) {
        const std::uint32_t var = btf.word(id, 3 + 3 * i);
        const std::uint32_t offset = btf.word(id, 4 + 3 * i);
        btf.set_word(id, 3 + 3 * i, btf.name_off(var));
        btf.set_word(id, 4 + 3 * i, var);
        btf.set_word(id, 5 + 3 * i, offset * 8);
      }
      btf.set_word(id, 1, make_info(Kind::Struct, vlen, false));
    } else if (!f.func && k == Kind::FuncProto) {
      btf.set_word(id, 1, make_info(Kind::Enum, vlen, false));
      btf.set_word(id, 2, 4);
    } else if (!f.func && k == Kind::Func) {
      btf.set_word(id, 1, make_info(Kind::Typedef, 0, false));
    } else if (!f.global_func && k == Kind::Func) {
      btf.set_word(id, 1, make_info(Kind::Func, 0, false));
    } else if (!f.float_kind && k == Kind::Float) {
      btf.set_word(id, 0, 0);
      btf.set_word(id, 1, make_info(Kind::Struct, 0, false));
    } else if (!f.type_tag && k == Kind::TypeTag) {
      btf.set_word(id, 0, 0);
      btf.set_word(id, 1, make_info(Kind::Const, 0, false));
    } else if (!f.enum64 && k == Kind::Enum) {
      btf.set_word(id, 1, make_info(Kind::Enum, vlen, false));  // kflag (signedness) came with ENUM64
    } else if (!f.enum64 && k == Kind::Enum64) {
      if (enum64_placeholder == 0) enum64_placeholder = btf.add_int("enum64_placeholder", 1, 0);
      for (std::uint32_t i = 0; i < vlen; ++i) {
        btf.set_word(id, 4 + 3 * i, enum64_placeholder);
        btf.set_word(id, 5 + 3 * i, 0);
      }
      btf.set_word(id, 1, make_info(Kind::Union, vlen, false));
    } else {
      continue;
    }
    ++rewritten;
  }
  return rewritten;
}

}  // namespace bpfsign::btf
