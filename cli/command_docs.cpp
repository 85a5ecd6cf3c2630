#include "command_docs.hpp"

#include <cctype>
#include <string_view>

#include <fmt/core.h>

#include "bpfsign/sign/keys.hpp"
#include "bpfsign/sign/scheme.hpp"
#include "bpfsign/version.hpp"
#include "exit_codes.hpp"

namespace bpfsign::cli {

namespace {

// Text as roff prints it: backslashes and hyphens escaped, and a line that
// would start with a control character ('.' or "'") made literal.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<const CLI::App*> commands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

std::vector<const CLI::Option*> options_of(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return !o->get_positional(); });
}

std::vector<const CLI::Option*> arguments_of(const CLI::App& app) {
  return app.get_options([](const CLI::Option* o) { return o->get_positional(); });
}

bool takes_value(const CLI::Option& o) { return o.get_items_expected_max() != 0; }
bool repeats(const CLI::Option& o) { return o.get_items_expected_max() > 1 || o.get_expected_max() > 1; }

// "-k, --key KEY" for the page.
std::string option_names(const CLI::Option& o) {
  std::string out;
  for (const auto& s : o.get_snames()) out += (out.empty() ? "" : ", ") + std::string("-") + s;
  for (const auto& l : o.get_lnames()) out += (out.empty() ? "" : ", ") + std::string("--") + l;
  return out;
}

std::string value_name(const CLI::Option& o) {
  const std::string base = o.get_lnames().empty() ? (o.get_snames().empty() ? "VALUE" : upper(o.get_snames()[0])) : upper(o.get_lnames()[0]);
  return base + (repeats(o) ? "..." : "");
}

// The words of a command's path: {"keyring", "add"}.
std::string path_of(const std::vector<std::string>& path, const char* sep) {
  std::string out;
  for (const auto& p : path) out += (out.empty() ? "" : sep) + p;
  return out;
}

void exit_status(std::string& out) {
  out += ".SH EXIT STATUS\n";
  for (const auto& m : kExitCodeMeanings) out += fmt::format(".TP\n.B {}\n{}\n", m.code, roff(m.meaning));
}

ManPage command_page(const CLI::App& app, const std::vector<std::string>& path) {
  const std::string title = "bpfsign-" + path_of(path, "-");
  std::string out = fmt::format(".TH {} 1 \"\" \"bpfsign {}\" \"bpfsign manual\"\n", upper(title), kVersion);
  out += fmt::format(".SH NAME\n{} \\- {}\n", roff(title), roff(app.get_description()));
  out += fmt::format(".SH SYNOPSIS\n.B bpfsign {}\n", roff(path_of(path, " ")));
  const auto subcommands = commands_of(app);
  if (!subcommands.empty()) out += "\\fICOMMAND\\fR\n";
  for (const CLI::Option* a : arguments_of(app)) {
    const std::string name = upper(a->get_name(true));
    out += a->get_required() ? fmt::format("\\fI{}\\fR\n", name) : fmt::format("[\\fI{}\\fR]\n", name);
  }
  if (!options_of(app).empty()) out += "[\\fIOPTIONS\\fR]\n";
  out += fmt::format(".SH DESCRIPTION\n{}\n", roff(app.get_description()));
  if (!app.get_footer().empty()) out += fmt::format(".PP\n{}\n", roff(app.get_footer()));
  if (!subcommands.empty()) {
    out += ".SH COMMANDS\n";
    for (const CLI::App* s : subcommands) {
      out += fmt::format(".TP\n.B {}\n{} (see \\fBbpfsign\\-{}\\-{}\\fR(1))\n", roff(s->get_name()), roff(s->get_description()),
                         roff(path_of(path, "-")), roff(s->get_name()));
    }
  }
  const auto arguments = arguments_of(app);
  if (!arguments.empty()) {
    out += ".SH ARGUMENTS\n";
    for (const CLI::Option* a : arguments) out += fmt::format(".TP\n.I {}\n{}\n", upper(a->get_name(true)), roff(a->get_description()));
  }
  out += ".SH OPTIONS\n";
  for (const CLI::Option* o : options_of(app)) {
    out += fmt::format(".TP\n.B {}", roff(option_names(*o)));
    if (takes_value(*o)) out += fmt::format(" \\fI{}\\fR", roff(value_name(*o)));
    out += fmt::format("\n{}\n", roff(o->get_description()));
    if (!o->get_default_str().empty()) out += fmt::format(".br\nDefault: {}\n", roff(o->get_default_str()));
  }
  exit_status(out);
  out += ".SH SEE ALSO\n\\fBbpfsign\\fR(1); docs/cli.md of the bpfsign sources, installed by the Debian package as "
         "/usr/share/doc/bpfsign/cli.md.gz\n";
  return {title + ".1", out};
}

void collect(const CLI::App& app, std::vector<std::string>& path, std::vector<ManPage>& pages) {
  for (const CLI::App* s : commands_of(app)) {
    path.push_back(s->get_name());
    pages.push_back(command_page(*s, path));
    collect(*s, path, pages);
    path.pop_back();
  }
}

// The bash case arms "path") echo "words";; for every command path.
void completion_table(const CLI::App& app, std::vector<std::string>& path, std::string& commands, std::string& options) {
  std::string subs, opts;
  for (const CLI::App* s : commands_of(app)) subs += (subs.empty() ? "" : " ") + s->get_name();
  for (const CLI::Option* o : options_of(app)) {
    for (const auto& l : o->get_lnames()) opts += (opts.empty() ? "" : " ") + std::string("--") + l;
    for (const auto& s : o->get_snames()) opts += (opts.empty() ? "" : " ") + std::string("-") + s;
  }
  const std::string key = path_of(path, " ");
  if (!subs.empty()) commands += fmt::format("    \"{}\") echo \"{}\" ;;\n", key, subs);
  options += fmt::format("    \"{}\") echo \"{}\" ;;\n", key, opts);
  for (const CLI::App* s : commands_of(app)) {
    path.push_back(s->get_name());
    completion_table(*s, path, commands, options);
    path.pop_back();
  }
}

}  // namespace

std::vector<ManPage> man_pages(const CLI::App& root) {
  std::string out = fmt::format(".TH BPFSIGN 1 \"\" \"bpfsign {}\" \"bpfsign manual\"\n", kVersion);
  out += fmt::format(".SH NAME\nbpfsign \\- {}\n", roff(root.get_description()));
  out += ".SH SYNOPSIS\n.B bpfsign\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n";
  out += ".SH DESCRIPTION\nbpfsign signs BPF objects into bundles whose loader programs load on every kernel from 6.18, loads them "
         "(with keyrings, pinning and attachment), verifies and audits them offline. Every command accepts \\fB\\-\\-help\\fR; "
         "commands whose output a script reads accept \\fB\\-\\-json\\fR.\n";
  out += ".SH COMMANDS\n";
  for (const CLI::App* s : commands_of(root)) {
    out += fmt::format(".TP\n.B {}\n{} (see \\fBbpfsign\\-{}\\fR(1))\n", roff(s->get_name()), roff(s->get_description()), roff(s->get_name()));
  }
  exit_status(out);
  std::vector<ManPage> pages{{"bpfsign.1", out}};
  std::vector<std::string> path;
  collect(root, path, pages);
  return pages;
}

std::string bash_completion(const CLI::App& root) {
  std::string commands, options;
  std::vector<std::string> path;
  completion_table(root, path, commands, options);
  std::string schemes, algorithms;
  for (sign::Scheme s : sign::kAllSchemes) schemes += (schemes.empty() ? "" : " ") + std::string(sign::scheme_name(s));
  for (sign::KeyAlgorithm a : sign::kAllKeyAlgorithms) algorithms += (algorithms.empty() ? "" : " ") + std::string(sign::key_algorithm_name(a));
  std::string out = "# bash completion for bpfsign, generated by 'bpfsign completion bash' from its command line.\n";
  out += "__bpfsign_commands() {\n  case \"$1\" in\n" + commands + "  esac\n}\n";
  out += "__bpfsign_options() {\n  case \"$1\" in\n" + options + "  esac\n}\n";
  out += fmt::format(R"bash(_bpfsign() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} path= word i
  case $prev in
    --scheme) COMPREPLY=($(compgen -W "{}" -- "$cur")); return ;;
    -a|--algorithm) COMPREPLY=($(compgen -W "{}" -- "$cur")); return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${{COMP_WORDS[i]}}
    case " $(__bpfsign_commands "$path") " in
      *" $word "*) path=${{path:+$path }}$word ;;
    esac
  done
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(__bpfsign_options "$path")" -- "$cur"))
  elif [[ -n $(__bpfsign_commands "$path") ]]; then
    COMPREPLY=($(compgen -W "$(__bpfsign_commands "$path")" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}
complete -o filenames -F _bpfsign bpfsign
)bash",
                     schemes, algorithms);
  return out;
}

}  // namespace bpfsign::cli
