#include "core/thp_staging.hpp"

#include "util/log.hpp"

#include <string>

namespace gpucr {

Status ThpStaging::open(recovery::Journal& journal) {
  auto journal_it = [&](mm::ThpMode original) {
    journal.data().thp_window = mm::to_string(original);
    return journal.save();
  };
  auto r = mm::open_window(seams(), want_, host_.privileges.root(), journal.data().id, journal.data().owner, journal_it);
  if (r.original) journal_ = &journal;
  if (held()) {
    host_.progress.note(r.note);
  } else if (r.warning) {
    log::warn(r.note + "; going on without it");
  } else {
    log::info(r.note);
  }
  if (!held() && !journal.data().thp_window.empty()) {  // journaled, then not opened
    journal.data().thp_window.clear();
    (void)journal.save();
  }
  return {};
}

Status ThpStaging::close() {
  if (!held()) return {};
  recovery::Journal& journal = *journal_;
  auto r = mm::close_window(seams(), journal.data().id);
  if (!r) {
    log::warn("the THP window could not be closed: " + r.error().what + "; put the mode back by hand: echo " +
              journal.data().thp_window + " > " + host_.thp->where());
    return {};
  }
  journal_ = nullptr;
  log::info(*r);
  journal.data().thp_window.clear();
  (void)journal.save();
  return {};
}

}  // namespace gpucr
