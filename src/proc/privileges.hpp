// The privileges seam: who gpucr runs as. Real: SelfPrivileges (this process's credentials).
// Fake: tests/unit/fakes.hpp (FakePrivileges), so the drivers' root-only paths are tested as an
// unprivileged user too.
#pragma once

#include <sys/types.h>

namespace gpucr::proc {

class Privileges {
 public:
  virtual ~Privileges() = default;
  virtual uid_t euid() const = 0;
  virtual uid_t uid() const = 0;
  bool root() const { return euid() == 0; }
  // Installed setuid (or setgid): the real and effective ids differ.
  virtual bool setid() const = 0;
};

class SelfPrivileges : public Privileges {
 public:
  uid_t euid() const override;
  uid_t uid() const override;
  bool setid() const override;
};

}  // namespace gpucr::proc
