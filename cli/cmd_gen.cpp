// bpfsign gen skeleton (OBJECT [--settings FILE] | BUNDLE [--object OBJECT]) [-o FILE] [--name NAME] [--c]
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"
#include "bpfsign/verify/reproduce.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "bpfsign/skeleton/c_skeleton.hpp"
#include "bpfsign/skeleton/cpp_skeleton.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"

namespace bpfsign::cli {

namespace {

struct GenOptions {
  std::string input;   // an object, or a signed bundle
  std::string object;  // with a bundle: the object it was generated from
  std::string settings;  // with an object: what may be set (a bundle carries its signer's)
  std::string output;
  std::string name;
  bool c = false;
  bool force = false;
};

Status write_text(const GenOptions& opt, const std::string& text) {
  if (opt.output.empty() || opt.output == "-") {
    fmt::print("{}", text);
    return Ok{};
  }
  return write_file_atomic(opt.output, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), 0644,
                           opt.force ? Existing::Replace : Existing::Keep);
}

// A signed skeleton: the whole bundle embedded. With --object, the object
// must be the one the bundle was generated from (verify::reproduce); it
// then types the accessors of global data.
Result<std::string> signed_skeleton(const GenOptions& opt, const std::vector<std::uint8_t>& bytes) {
  if (opt.c && opt.object.empty()) return usage_error("{}: a signed C skeleton (--c) needs the bundle's object (--object) for its types", opt.input);
  if (!opt.settings.empty()) {
    return usage_error("{}: --settings declares an object's settings; a bundle carries the ones its signer declared", opt.settings);
  }
  auto b = bundle::parse_bundle(bytes, opt.input);
  if (!b) return b.error();
  if (b->signatures.empty()) return bad_input("{}: the bundle carries no signature", opt.input);
  // The bundle must be whole: every check `verify` makes but the signer's
  // trust, which is the loading side's to decide (keyring, --cert).
  for (const auto& c : verify::verify_bundle(*b, verify::Trust{}).checks) {
    if (c.id != "trust" && !c.ok) return refusal("{}: {}: {}", opt.input, c.what, c.detail);
  }
  auto loader = bundle::loader_from_bundle(*b, b->signatures.front().scheme);
  if (!loader) return loader.error().with_context(opt.input);
  std::optional<object::ObjectModel> model;
  if (!opt.object.empty()) {
    auto object = read_file(opt.object);
    if (!object) return object.error();
    auto same = verify::reproduce(*object, opt.object, *b);
    if (!same) return same.error();
    for (const auto& c : same->checks) {
      if (!c.ok) return bad_input("{} was not generated from {}: {}: {}", opt.input, opt.object, c.what, c.detail);
    }
    auto m = object::read_object_file(opt.object);
    if (!m) return m.error();
    model = std::move(m).value();
  }
  std::string name = opt.name;
  if (name.empty()) name = std::filesystem::path(opt.input).stem().string();
  if (!opt.c) return skeleton::cpp_skeleton(model ? &*model : nullptr, *loader, name, bytes);
  // Every scheme a kernel implements, in the order the skeleton tries them.
  std::vector<skeleton::SignedLoader> loaders;
  for (sign::Scheme s : sign::schemes_in_try_order()) {
    const auto* sig = b->signature_for(s);
    if (sig == nullptr) continue;
    loaders.push_back({sign::scheme_name(s), b->loader_for(s), sig->der, sign::scheme_info(s).sets_fd_array_cnt});
  }
  if (loaders.empty()) return bad_input("{}: no signature of a scheme a kernel implements", opt.input);
  return skeleton::c_skeleton(*model, *loader, name, loaders);
}

Result<std::string> object_skeleton(const GenOptions& opt) {
  if (!opt.object.empty()) return bad_input("--object goes with a bundle: {} is the object already", opt.input);
  auto model = object::read_object_file(opt.input);
  if (!model) return model.error();
  auto declaration = loader::read_settings_declaration(opt.settings);
  if (!declaration) return declaration.error();
  auto loader = loader::generate_loader(*model, *declaration);
  if (!loader) return loader.error();
  const std::string name = opt.name.empty() ? model->name : opt.name;
  return opt.c ? skeleton::c_skeleton(*model, *loader, name) : skeleton::cpp_skeleton(&*model, *loader, name);
}

int run_gen_skeleton(const GenOptions& opt) {
  if (auto distinct = distinct_files({{"-o", opt.output == "-" ? "" : opt.output}, {"the input", opt.input}, {"--object", opt.object}, {"--settings", opt.settings}}); !distinct) {
    return report(distinct.error());
  }
  auto bytes = read_file(opt.input);
  if (!bytes) return report(bytes.error());
  const bool is_bundle = bundle::starts_with_magic(*bytes);
  auto text = is_bundle ? signed_skeleton(opt, *bytes) : object_skeleton(opt);
  if (!text) return report(text.error());
  if (auto written = write_text(opt, *text); !written) return report(written.error());
  return kExitOk;
}

}  // namespace

void register_gen(CLI::App& app, Action& action) {
  auto* gen = app.add_subcommand("gen", "Generate code from a BPF object");
  gen->require_subcommand(1);
  auto opt = std::make_shared<GenOptions>();
  auto* skel = gen->add_subcommand("skeleton", "A C++ header owning the loaded object, with its loader (or its signed bundle) embedded");
  skel->add_option("input", opt->input, "BPF ELF object file, or a bundle made by 'bpfsign sign' (a signed skeleton)")->required();
  skel->add_option("--object", opt->object, "With a bundle: the object it was generated from (checked), for typed global data");
  skel->add_option("--settings", opt->settings, "With an object: what may be set before load (JSON, as 'sign --settings'): typed setters");
  skel->add_option("-o,--output", opt->output, "Header to write (atomically); default: standard output");
  skel->add_option("--name", opt->name, "Namespace prefix (default: the object name)");
  skel->add_flag("--force", opt->force, "Replace an existing output file");
  skel->add_flag("--c", opt->c, "A self-contained C header instead (loads; attaching is left to the application)");
  skel->callback([&action, opt] { action = [opt] { return run_gen_skeleton(*opt); }; });
}

}  // namespace bpfsign::cli
