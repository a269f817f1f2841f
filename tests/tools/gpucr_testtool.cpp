// gpucr_testtool: gpucr's freezer and inventory code, driven from the integration tests.
//
//   freezer-find PID                 JSON: the pid's freezer cgroup (CgroupFs) and its state
//   freezer-state DIR                JSON: state of the cgroup at DIR
//   freezer-freeze DIR | freezer-thaw DIR
//   keeper-thaw PID RECORD [--criu-freezes]
//                                    Keeper: capture PID's cgroup, write the record to RECORD
//                                    (through on_change, before the change), thaw for GPU work,
//                                    then exit WITHOUT restoring: a gpucr killed after the thaw.
//                                    --criu-freezes: the record says criu would freeze it
//   keeper-restore RECORD            restore_original_state(record): the crash-recovery path
//   inventory-set DIR [NAME...]      rewrite DIR/inventory.img with the codec to list NAMEs
//                                    (none: an empty field)
//   inventory-remove DIR             rewrite it without the plugins field (as criu < 4.1 wrote)
//   inventory-show DIR               JSON: field state and names
// Exit status: 0, or the gpucr exit code of the error (printed on stderr).
#include "criu/inventory.hpp"
#include "freezer/cgroup_fs.hpp"
#include "freezer/keeper.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

using namespace gpucr;
using nlohmann::json;

namespace {

int report(const Error& e) {
  std::cerr << "error: " << e.what << "\n";
  for (const auto& d : e.details) std::cerr << "  " << d << "\n";
  if (!e.hint.empty()) std::cerr << "hint: " << e.hint << "\n";
  return static_cast<int>(e.exit);
}

json cgroup_json(freezer::Freezer& fz, const freezer::Cgroup& cg) {
  json j{{"version", freezer::to_string(cg.version)}, {"cgroup", cg.path}, {"dir", cg.dir.string()}};
  auto st = fz.state(cg);
  j["state"] = st ? json(freezer::to_string(*st)) : json(nullptr);
  return j;
}

Status run(const std::vector<std::string>& a) {
  freezer::CgroupFs fz;
  auto need = [&](size_t n) -> Status {
    if (a.size() < n) return fail(Error("usage: see tests/tools/gpucr_testtool.cpp", Exit::usage));
    return {};
  };
  GPUCR_TRY(need(1));
  const std::string& cmd = a[0];
  if (cmd == "freezer-find") {
    GPUCR_TRY(need(2));
    auto l = GPUCR_TRY(fz.find(static_cast<pid_t>(GPUCR_TRY(parse_int(a[1], "pid")))));
    json j = l.cgroup ? cgroup_json(fz, *l.cgroup) : json::object();
    j["found"] = l.cgroup.has_value();
    j["reason"] = l.none_reason;
    std::cout << j.dump() << "\n";
  } else if (cmd == "freezer-state" || cmd == "freezer-freeze" || cmd == "freezer-thaw") {
    GPUCR_TRY(need(2));
    auto cg = GPUCR_TRY(fz.at(a[1]));
    if (cmd == "freezer-freeze") GPUCR_TRY(fz.freeze(cg, freezer::kDefaultTimeout));
    if (cmd == "freezer-thaw") GPUCR_TRY(fz.thaw(cg, freezer::kDefaultTimeout));
    std::cout << cgroup_json(fz, cg).dump() << "\n";
  } else if (cmd == "keeper-thaw") {
    GPUCR_TRY(need(3));
    pid_t pid = static_cast<pid_t>(GPUCR_TRY(parse_int(a[1], "pid")));
    freezer::Keeper k(fz);
    k.on_change([&](const pb::FreezerRecord& r) { return write_file_atomic(a[2], r.SerializeAsString()); });
    GPUCR_TRY(k.capture(pid));
    if (!k.has_cgroup()) return fail(Error(k.none_reason(), Exit::bad_input));
    if (a.size() > 3 && a[3] == "--criu-freezes") GPUCR_TRY(k.note_criu_freezes());
    GPUCR_TRY(write_file_atomic(a[2], k.record().SerializeAsString()));
    GPUCR_TRY(k.thaw_for_gpu({pid}));
    std::cout << json{{"was_frozen", k.was_frozen()}, {"thawed_by_gpucr", k.thawed_by_gpucr()}}.dump() << "\n";
  } else if (cmd == "keeper-restore") {
    GPUCR_TRY(need(2));
    pb::FreezerRecord rec;
    if (!rec.ParseFromString(GPUCR_TRY(read_file(a[1])))) return fail(Error("bad record " + a[1], Exit::bad_input));
    GPUCR_TRY(freezer::restore_original_state(fz, rec));
  } else if (cmd == "inventory-set" || cmd == "inventory-remove") {
    GPUCR_TRY(need(2));
    auto inv = GPUCR_TRY(criu::read_inventory(a[1]));
    if (cmd == "inventory-remove") {
      inv.entry.clear_plugins_entry();
    } else {
      inv.set_plugins({a.begin() + 2, a.end()});
    }
    GPUCR_TRY(criu::write_inventory(a[1], inv));
  } else if (cmd == "inventory-show") {
    GPUCR_TRY(need(2));
    auto inv = GPUCR_TRY(criu::read_inventory(a[1]));
    std::cout << json{{"field", criu::to_string(inv.plugins_field())}, {"names", inv.plugins()}}.dump() << "\n";
  } else {
    return fail(Error("unknown command " + cmd, Exit::usage));
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  auto st = run({argv + 1, argv + argc});
  return st ? 0 : report(st.error());
}
