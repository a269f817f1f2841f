// Container ids: which ones gpucr accepts, so that an id can name files under /run/gpucr and
// never a path elsewhere.
//
// The rule is runc's (letters, digits and "_+,.-"; not "." or ".."), made two ways stricter:
// no leading '-' (every runtime's command line would read it as an option) and at most 250
// characters (the id plus ".lock" must fit in one file name). Ids made by podman (64 hex
// digits), CRI-O, containerd and Kubernetes all pass.
#pragma once

#include "util/result.hpp"

#include <string_view>

namespace gpucr::runtime {

inline constexpr size_t kMaxContainerIdLength = 250;

bool valid_container_id(std::string_view id);

// Ok, or a bad_input error naming the id (printed safely) and the rule.
Status check_container_id(std::string_view id);

}  // namespace gpucr::runtime
