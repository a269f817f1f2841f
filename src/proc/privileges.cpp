#include "proc/privileges.hpp"

#include <unistd.h>

namespace gpucr::proc {

uid_t SelfPrivileges::euid() const { return ::geteuid(); }
uid_t SelfPrivileges::uid() const { return ::getuid(); }
bool SelfPrivileges::setid() const { return ::getuid() != ::geteuid() || ::getgid() != ::getegid(); }

}  // namespace gpucr::proc
