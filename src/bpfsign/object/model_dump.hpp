// The object model for people (`bpfsign object dump`) and for scripts (--json).
#pragma once

#include <string>

#include "bpfsign/object/object_model.hpp"

namespace bpfsign::object {

std::string dump_text(const ObjectModel& model);
std::string dump_json(const ObjectModel& model);  // one JSON document, documented in docs/object-model.md

}  // namespace bpfsign::object
