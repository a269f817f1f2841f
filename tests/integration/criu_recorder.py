#!/usr/bin/python3
"""A criu front end for the tests: records how criu was called, then execs the real criu.

Each call appends one JSON line to $CRIU_RECORD: {"args": [...], "libdir": DIR or null,
"libdir_entries": {NAME: symlink target or null}, "env": {KFD_*: value}} (the --libdir listing is
taken before criu starts, since gpucr removes that directory once criu is done). The real criu is
$CRIU_REAL, else `criu` in PATH. gpucr is pointed at this file with GPUCR_CRIU (or --criu).
"""
import json
import os
import shutil
import sys

args = sys.argv[1:]
record = {"args": args, "libdir": None, "libdir_entries": {},
          "env": {k: v for k, v in os.environ.items() if k.startswith("KFD_")}}
if "--libdir" in args:
    d = args[args.index("--libdir") + 1]
    record["libdir"] = d
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        record["libdir_entries"][name] = os.readlink(p) if os.path.islink(p) else None
with open(os.environ["CRIU_RECORD"], "a") as f:
    f.write(json.dumps(record) + "\n")
real = os.environ.get("CRIU_REAL") or shutil.which("criu")
os.execv(real, [real] + args)
