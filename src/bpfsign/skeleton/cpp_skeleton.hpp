// `bpfsign gen skeleton`: a C++ header that owns a loaded object. It embeds
// the generated loader and its metadata, and gives the application an RAII
// owner of every fd, open_and_load / attach / destroy, typed access to
// global data mapped into memory, and typed setters for the runtime
// settings the signer declared (loader/settings.hpp), called before load.
#pragma once

#include <string>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_model.hpp"

namespace bpfsign::skeleton {

// The header's text. `name` becomes the namespace `<name>_skel`. With a
// signed `bundle`, the header embeds the whole bundle (every scheme's signed
// loader) and loads it through load/load_bundle.hpp, the application naming
// the keyring; `loader` is then the bundle's (its manifest names maps and
// programs). `model`, when given, must be the object the loader was
// generated from: it types the accessors of global data (none without it).
Result<std::string> cpp_skeleton(const object::ObjectModel* model, const loader::LoaderProgram& loader, const std::string& name,
                                 Bytes bundle = {});

// A C identifier for a map or object name: ".data.custom" → "data_custom".
// Every name from an object reaches generated code only through this (as
// code) or comment_text() and the string-literal writer (as text): a name
// must never become code of the application that compiles the header.
std::string identifier(const std::string& name);
// A variable's name as code: itself when it is a C identifier already
// (leading underscores kept), identifier() of it otherwise.
std::string code_name(const std::string& name);
// A name as the text of a // or /* */ comment: printable, no "*/".
std::string comment_text(const std::string& name);

// Each setting's setter, as both skeletons name it: "set_<variable>",
// "set_max_entries_<map>", "skip_<program>" (identifiers). Refused when two
// settings would get the same name.
Result<std::vector<std::string>> setter_names(const std::vector<loader::Setting>& settings);

}  // namespace bpfsign::skeleton
