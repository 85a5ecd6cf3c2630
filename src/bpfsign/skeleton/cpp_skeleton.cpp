#include "bpfsign/skeleton/cpp_skeleton.hpp"

#include <algorithm>
#include <cctype>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/common/printable.hpp"

namespace bpfsign::skeleton {

namespace {

using btf::Kind;

template <typename... Args>
void line(std::string& out, fmt::format_string<Args...> f, Args&&... args) {
  out += fmt::format(f, std::forward<Args>(args)...);
  out += '\n';
}

std::string byte_array(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out += fmt::format("{}0x{:02x},", i % 16 == 0 ? "\n    " : "", bytes[i]);
  }
  return out;
}

// A C/C++ string literal: quotes and backslashes escaped, every other byte
// outside printable ASCII as a three-digit octal escape.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f || c == '?') {  // '?': no trigraph in C
      out += fmt::format("\\{:03o}", c);
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// The C++ type of a global variable whose layout C++ can name: integers,
// enums, pointers (as addresses), and arrays of those. Others: none.
std::optional<std::string> scalar_type(const btf::Btf& b, std::uint32_t id, int depth = 0) {
  id = b.skip_modifiers_and_typedefs(id);
  switch (b.kind(id)) {
    case Kind::Int: {
      const std::uint32_t size = b.size_or_type(id);
      const std::uint32_t enc = (b.int_encoding(id) >> 24) & 0xf;
      if (enc & 4u) return std::string("bool");
      if (size == 1 && (enc & 2u)) return std::string("char");
      if (size != 1 && size != 2 && size != 4 && size != 8) return std::nullopt;
      return fmt::format("std::{}int{}_t", (enc & 1u) ? "" : "u", size * 8);
    }
    case Kind::Enum: case Kind::Enum64: {
      const std::uint32_t size = b.size_or_type(id);
      if (size != 1 && size != 2 && size != 4 && size != 8) return std::nullopt;
      return fmt::format("std::{}int{}_t", b.kflag(id) ? "" : "u", size * 8);
    }
    case Kind::Ptr:
      return std::string("std::uint64_t");
    case Kind::Array: {
      if (depth > 0) return std::nullopt;
      auto elem = scalar_type(b, b.array(id).type, depth + 1);
      if (!elem) return std::nullopt;
      return fmt::format("std::array<{}, {}>", *elem, b.array(id).nelems);
    }
    default:
      return std::nullopt;
  }
}

// One class per mapped global-data section: an accessor per variable.
void section_view(std::string& out, const btf::Btf& b, const object::Map& m, const loader::MapSummary& summary) {
  const std::string cls = identifier(m.name);
  line(out, "// {} ({} bytes){}", comment_text(m.name), m.def.value_size, summary.read_only ? ", read-only: frozen after load" : "");
  line(out, "class {}_view {{", cls);
  line(out, " public:");
  line(out, "  explicit {}_view(std::uint8_t* base) : base_(base) {{}}", cls);
  const char* constness = summary.read_only ? "const " : "";
  for (const auto& v : b.datasec_vars(m.def.btf_value_type_id)) {
    if (b.kind(v.type) != Kind::Var) continue;
    const std::string var = code_name(std::string(b.name(v.type)));
    if (b.var_linkage(v.type) == btf::VarLinkage::Static) continue;  // hidden from user space, as libbpf's skeletons
    if (auto t = scalar_type(b, b.size_or_type(v.type))) {
      line(out, "  {0}{1}& {2}() const {{ return *reinterpret_cast<{0}{1}*>(base_ + {3}); }}", constness, *t, var, v.offset);
    } else {
      line(out, "  std::span<{}std::uint8_t> {}() const {{ return {{base_ + {}, {}}}; }}", constness, var, v.offset, v.size);
    }
  }
  line(out, " private:");
  line(out, "  std::uint8_t* base_;");
  line(out, "}};");
  line(out, "");
}

const char* step_kind(loader::LoaderStep::Kind k) {
  using K = loader::LoaderStep::Kind;
  switch (k) {
    case K::BtfLoad: return "BtfLoad";
    case K::InnerMapCreate: return "InnerMapCreate";
    case K::MapCreate: return "MapCreate";
    case K::MapUpdate: return "MapUpdate";
    case K::MapFreeze: return "MapFreeze";
    case K::FindAttachTarget: return "FindAttachTarget";
    case K::ResolveKfunc: return "ResolveKfunc";
    case K::ResolveKsym: return "ResolveKsym";
    case K::ProgLoad: return "ProgLoad";
    case K::SlotUpdate: return "SlotUpdate";
    case K::ContextBound: return "ContextBound";
    case K::SettingBound: return "SettingBound";
  }
  return "BtfLoad";
}

}  // namespace

std::string code_name(const std::string& name) {
  const bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
                     std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
  return valid ? name : identifier(name);
}

std::string comment_text(const std::string& name) {
  std::string out = printable(name);
  for (std::size_t at = out.find("*/"); at != std::string::npos; at = out.find("*/", at)) out.replace(at, 2, "* /");
  return out;
}

std::string identifier(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  while (!out.empty() && out.front() == '_') out.erase(0, 1);
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out.front()))) out = "x" + out;
  return out;
}

Result<std::vector<std::string>> setter_names(const std::vector<loader::Setting>& settings) {
  std::vector<std::string> out;
  for (const auto& s : settings) {
    const std::string n = s.kind == loader::Setting::Kind::Variable     ? "set_" + code_name(s.name)
                          : s.kind == loader::Setting::Kind::MaxEntries ? "set_max_entries_" + identifier(s.name)
                                                                        : "skip_" + identifier(s.name);
    if (std::find(out.begin(), out.end(), n) != out.end()) {
      return bad_input("two runtime settings would both have the setter '{}' (rename one in the object)", n);
    }
    out.push_back(n);
  }
  return out;
}

namespace {

// The settings the signer declared, rebuilt in code: the setters' early
// answer (and an unsigned skeleton's loader) use them.
void embedded_settings(std::string& out, const std::vector<loader::Setting>& settings) {
  line(out, "inline std::vector<bpfsign::loader::Setting> settings() {{");
  line(out, "  using K = bpfsign::loader::Setting::Kind;");
  line(out, "  std::vector<bpfsign::loader::Setting> s;");
  for (const auto& st : settings) {
    std::string values;
    for (std::uint64_t v : st.values) values += fmt::format("{}{}ULL", values.empty() ? "" : ", ", v);
    const char* kind = st.kind == loader::Setting::Kind::Variable     ? "Variable"
                       : st.kind == loader::Setting::Kind::MaxEntries ? "MaxEntries"
                                                                      : "OptionalProgram";
    line(out, "  s.push_back({{K::{}, {}, {}, {}, {}, {}, {}, {}ULL, {}ULL, {{{}}}, {}}});", kind, quoted(st.name), st.target, st.offset,
         st.size, st.is_signed, st.value_set, st.min, st.max, values,
         st.fallback_for ? fmt::format("std::optional<std::uint32_t>{{{}}}", *st.fallback_for) : std::string("std::nullopt"));
  }
  line(out, "  return s;\n}}\n");
}

// The unsigned skeleton's detail: the generated loader, rebuilt in code.
void embedded_loader(std::string& out, const loader::LoaderProgram& loader) {
  line(out, "inline constexpr std::uint8_t kLoaderCode[] = {{{}\n}};", byte_array(loader.code));
  line(out, "inline constexpr std::uint8_t kMetadata[] = {{{}\n}};\n", byte_array(loader.blob));
  line(out, "inline bpfsign::loader::LoaderProgram loader() {{");
  line(out, "  using bpfsign::loader::LoaderStep;");
  line(out, "  bpfsign::loader::LoaderProgram l;");
  line(out, "  l.code.assign(std::begin(kLoaderCode), std::end(kLoaderCode));");
  line(out, "  l.blob.assign(std::begin(kMetadata), std::end(kMetadata));");
  line(out, "  l.context.maps = {};\n  l.context.programs = {};\n  l.context.kconfig_size = {};", loader.context.maps,
       loader.context.programs, loader.context.kconfig_size);
  if (!loader.settings.empty()) line(out, "  l.settings = settings();\n  l.context.settings = {};", loader.context.settings);
  for (const auto& s : loader.steps) line(out, "  l.steps.push_back({{LoaderStep::Kind::{}, {}}});", step_kind(s.kind), quoted(s.object));
  for (const auto& m : loader.map_summaries) {
    line(out, "  l.maps.push_back({});", quoted(m.name));
    line(out, "  l.map_summaries.push_back({{{}, {}, {}, {}}});", quoted(m.name), m.value_size, m.mmapable, m.read_only);
  }
  for (const auto& p : loader.program_summaries) {
    line(out, "  l.programs.push_back({});", quoted(p.name));
    line(out, "  l.program_summaries.push_back({{{}, {}, static_cast<bpfsign::object::AttachMethod>({}), {}, {}}});", quoted(p.name),
         quoted(p.section), static_cast<int>(p.attach), p.expected_attach_type, quoted(p.attach_target));
  }
  for (const auto& k : loader.kconfig) {
    line(out, "  l.kconfig.push_back({{{}, static_cast<bpfsign::object::KconfigType>({}), {}, {}, {}, {}}});", quoted(k.name),
         static_cast<int>(k.type), k.is_signed, k.weak, k.offset, k.size);
  }
  line(out, "  return l;\n}}\n");
}

}  // namespace

Result<std::string> cpp_skeleton(const object::ObjectModel* model, const loader::LoaderProgram& loader, const std::string& name,
                                 Bytes bundle) {
  const bool is_signed = !bundle.empty();
  const std::string ns = identifier(name) + "_skel";
  std::string out;
  line(out, "// Generated by bpfsign gen skeleton from {} '{}': do not edit.", is_signed ? "a signed bundle of" : "object",
       comment_text(model != nullptr ? model->name : name));
  line(out, "// {}; link with bpfsign::bpfsign.",
       is_signed ? "The signed bundle (a loader and signature for every kernel scheme) is embedded" : "The loader and its metadata are embedded");
  line(out, "#pragma once\n");
  line(out, "#include <algorithm>\n#include <array>\n#include <cstdint>\n#include <optional>\n#include <span>\n#include <string>\n#include <vector>\n");
  line(out, "#include \"bpfsign/load/attach.hpp\"\n#include \"bpfsign/load/global_data.hpp\"");
  line(out, "#include \"bpfsign/load/load_bundle.hpp\"");
  line(out, "#include \"bpfsign/load/loader_runtime.hpp\"\n#include \"bpfsign/loader/loader_program.hpp\"\n");
  line(out, "namespace {} {{\n", ns);
  line(out, "namespace detail {{\n");
  if (!loader.settings.empty()) embedded_settings(out, loader.settings);
  if (is_signed) {
    line(out, "inline constexpr std::uint8_t kBundle[] = {{{}\n}};\n", byte_array(bundle));
  } else {
    embedded_loader(out, loader);
  }
  line(out, "}}  // namespace detail\n");
  if (model != nullptr && model->btf) {
    for (std::size_t i = 0; i < model->maps.size(); ++i) {
      const auto& m = model->maps[i];
      if (!loader.map_summaries[i].mmapable || m.def.btf_value_type_id == 0 || model->btf->kind(m.def.btf_value_type_id) != Kind::Datasec) continue;
      section_view(out, *model->btf, m, loader.map_summaries[i]);
    }
  }
  line(out, "// Owns everything the object loaded: closing it (destruction) unloads the");
  line(out, "// programs and maps, unless they were pinned.");
  line(out, "class Skeleton {{");
  line(out, " public:");
  line(out, "  // Opened, not loaded: the setters below (if the signer declared settings),");
  line(out, "  // then load().");
  line(out, "  static Skeleton open() {{ return Skeleton(); }}\n");
  if (is_signed) {
    line(out, "  // Loads the embedded bundle with the scheme the running kernel enforces,");
    line(out, "  // through the same decision as `bpfsign load` (bpfsign/load/load_plan.hpp):");
    line(out, "  // trust.keyring names the keyring holding the signer's certificate;");
    line(out, "  // certificates in trust.trust are verified offline first. plan() then says");
    line(out, "  // what was checked and by whom. A failed load loads nothing: settings may");
    line(out, "  // be changed and load() called again.");
    line(out, "  bpfsign::Status load(const bpfsign::load::TrustOptions& trust) {{");
    line(out, "    if (loaded_once_) return bpfsign::usage_error(\"load(): the skeleton is loaded already\");");
    line(out, "    bpfsign::load::RunOptions run;");
    line(out, "    run.settings = settings_;");
    line(out, "    auto done = bpfsign::load::load_bundle(detail::kBundle, {}, trust, run);", quoted(name + " skeleton"));
    line(out, "    if (!done) return done.error();");
  } else {
    line(out, "  // Runs the loader; maps global data into memory. A failed load loads");
    line(out, "  // nothing: settings may be changed and load() called again.");
    line(out, "  bpfsign::Status load() {{");
    line(out, "    if (loaded_once_) return bpfsign::usage_error(\"load(): the skeleton is loaded already\");");
    line(out, "    bpfsign::load::RunOptions run;");
    line(out, "    run.settings = settings_;");
    line(out, "    auto plan = bpfsign::load::plan_object_load(detail::loader());");
    line(out, "    auto done = bpfsign::load::execute_plan(plan, run);");
    line(out, "    if (!done) return done.error();");
  }
  line(out, "    auto globals = bpfsign::load::map_global_data(done->loader, done->object);");
  line(out, "    if (!globals) return globals.error();");
  line(out, "    plan_ = std::move({});", is_signed ? "done->plan" : "plan");
  line(out, "    loader_ = std::move(done->loader);");
  line(out, "    loaded_ = std::move(done->object);");
  line(out, "    globals_ = std::move(globals).value();");
  line(out, "    loaded_once_ = true;");
  line(out, "    return bpfsign::Ok{{}};");
  line(out, "  }}\n");
  line(out, "  static bpfsign::Result<Skeleton> open_and_load({}) {{", is_signed ? "const bpfsign::load::TrustOptions& trust" : "");
  line(out, "    Skeleton s;");
  line(out, "    if (auto ok = s.load({}); !ok) return ok.error();", is_signed ? "trust" : "");
  line(out, "    return s;");
  line(out, "  }}\n");
  if (!loader.settings.empty()) {
    auto setters = setter_names(loader.settings);
    if (!setters) return setters.error();
    line(out, "  // Runtime settings the signer declared, before load(). A value outside its");
    line(out, "  // bounds is refused here, by load() against the loaded manifest, and by the");
    line(out, "  // loader itself in the kernel: the check that counts. What is not set keeps");
    line(out, "  // the object's value; the last value set counts.");
    for (std::size_t k = 0; k < loader.settings.size(); ++k) {
      const loader::Setting& st = loader.settings[k];
      const std::string setter = (*setters)[k];
      if (st.kind == loader::Setting::Kind::OptionalProgram) {
        line(out, "  // Not to load program {} (then skipped() names it; its progs() fd is -1){}.", comment_text(st.name),
             st.fallback_for ? "; else it loads only if " + comment_text(loader.programs.at(*st.fallback_for)) + " was skipped" : std::string());
        line(out, "  bpfsign::Status {}() {{ return set_setting({}, 0); }}", setter, k);
        continue;
      }
      // 64 bits wide whatever the variable's size: no value is truncated
      // before the bounds are checked.
      const std::string type = st.is_signed ? "std::int64_t" : "std::uint64_t";
      line(out, "  // {}{}: {}", st.kind == loader::Setting::Kind::MaxEntries ? "max_entries of map " : "", comment_text(st.name),
           st.allowed_text());
      line(out, "  bpfsign::Status {}({} v) {{ return set_setting({}, static_cast<std::uint64_t>({})); }}", setter, type, k,
           st.is_signed ? "static_cast<std::int64_t>(v)" : "v");
    }
    line(out, "");
  }
  line(out, "  // Attaches every program whose section says how; see attachments().");
  line(out, "  bpfsign::Status attach(const bpfsign::load::AttachOptions& options = {{}}) {{");
  line(out, "    auto links = bpfsign::load::attach_programs(loader_.program_summaries, loaded_, options);");
  line(out, "    if (!links) return links.error();");
  line(out, "    links_ = std::move(links).value();");
  line(out, "    return bpfsign::Ok{{}};");
  line(out, "  }}");
  line(out, "  void detach() {{ links_.clear(); }}");
  line(out, "  const std::vector<bpfsign::load::Attachment>& attachments() const {{ return links_; }}\n");
  line(out, "  struct Maps {{");
  for (const auto& m : loader.map_summaries) line(out, "    int {} = -1;", identifier(m.name));
  line(out, "  }};");
  line(out, "  Maps maps() const {{");
  line(out, "    Maps m;");
  for (std::size_t i = 0; i < loader.map_summaries.size(); ++i) line(out, "    m.{} = loaded_.maps[{}].get();", identifier(loader.map_summaries[i].name), i);
  line(out, "    return m;\n  }}");
  line(out, "  struct Programs {{");
  for (const auto& p : loader.program_summaries) line(out, "    int {} = -1;", identifier(p.name));
  line(out, "  }};");
  line(out, "  Programs progs() const {{");
  line(out, "    Programs p;");
  for (std::size_t i = 0; i < loader.program_summaries.size(); ++i) line(out, "    p.{} = loaded_.programs[{}].get();", identifier(loader.program_summaries[i].name), i);
  line(out, "    return p;\n  }}\n");
  if (model != nullptr && model->btf) {
    for (std::size_t i = 0; i < model->maps.size(); ++i) {
      const auto& m = model->maps[i];
      if (!loader.map_summaries[i].mmapable || m.def.btf_value_type_id == 0 || model->btf->kind(m.def.btf_value_type_id) != Kind::Datasec) continue;
      const std::string id = identifier(m.name);
      line(out, "  {0}_view {0}() const {{ return {0}_view(region({1})); }}", id, quoted(m.name));
    }
  }
  line(out, "  const bpfsign::load::LoadedObject& loaded() const {{ return loaded_; }}");
  line(out, "  // The optional programs the loader did not load, and why (reason()).");
  line(out, "  const std::vector<bpfsign::load::SkippedProgram>& skipped() const {{ return loaded_.skipped; }}");
  line(out, "  // What was loaded, and what was checked by whom (plan().checks, plan().checked_by()).");
  line(out, "  const bpfsign::load::LoadPlan& plan() const {{ return plan_; }}\n");
  line(out, " private:");
  line(out, "  std::uint8_t* region(const std::string& map) const {{");
  line(out, "    for (const auto& g : globals_) {{");
  line(out, "      if (g.map == map) return g.region.data();");
  line(out, "    }}");
  line(out, "    return nullptr;");
  line(out, "  }}\n");
  if (!loader.settings.empty()) {
    line(out, "  bpfsign::Status set_setting(std::size_t k, std::uint64_t bits) {{");
    line(out, "    using bpfsign::loader::Setting;");
    line(out, "    static const std::vector<Setting> declared = detail::settings();");
    line(out, "    const Setting& s = declared[k];");
    line(out, "    const char* kind = bpfsign::loader::setting_kind_name(s.kind);");
    line(out, "    if (loaded_once_) return bpfsign::usage_error(\"{{}} '{{}}': settings apply at load(), which has run\", kind, s.name);");
    line(out, "    if (s.kind == Setting::Kind::OptionalProgram) {{");
    line(out, "      if (std::find(settings_.skip.begin(), settings_.skip.end(), s.name) == settings_.skip.end()) settings_.skip.push_back(s.name);");
    line(out, "      return bpfsign::Ok{{}};");
    line(out, "    }}");
    line(out, "    if (!s.allows(bits)) {{");
    line(out, "      return bpfsign::usage_error(\"{{}} '{{}}' = {{}}: outside what the signer allows ({{}})\", kind, s.name, s.value_text(bits), s.allowed_text());");
    line(out, "    }}");
    line(out, "    auto& given = s.kind == Setting::Kind::Variable ? settings_.variables : settings_.max_entries;");
    line(out, "    std::erase_if(given, [&](const auto& g) {{ return g.first == s.name; }});");
    line(out, "    given.emplace_back(s.name, s.value_text(bits));");
    line(out, "    return bpfsign::Ok{{}};");
    line(out, "  }}\n");
  }
  line(out, "  bpfsign::load::LoadPlan plan_;");
  line(out, "  bpfsign::loader::LoaderProgram loader_;");
  line(out, "  bpfsign::load::LoadedObject loaded_;");
  line(out, "  std::vector<bpfsign::load::GlobalData> globals_;");
  line(out, "  std::vector<bpfsign::load::Attachment> links_;  // detached first when destroyed");
  line(out, "  bpfsign::load::RuntimeSettings settings_;  // given to load()");
  line(out, "  bool loaded_once_ = false;");
  line(out, "}};\n");
  line(out, "}}  // namespace {}", ns);
  return out;
}

}  // namespace bpfsign::skeleton
