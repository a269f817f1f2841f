#!/usr/bin/env python3
"""Fails when an #include in src/ crosses the layering ARCHITECTURE.md states.

The rules are read from ARCHITECTURE.md itself, from the block between the lines
"<!-- layering -->" and "<!-- /layering -->": one line per folder, "FOLDER: ALLOWED ...", where
ALLOWED names the folders it may include ("protos" stands for the generated *.pb.h headers).
A folder may always include its own headers. Exit 0 when every include keeps to the rules,
1 with one line per violation otherwise, 2 when the rules or the tree can't be read.
"""
import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def rules():
    text = (REPO / "ARCHITECTURE.md").read_text()
    m = re.search(r"<!-- layering -->(.*?)<!-- /layering -->", text, re.S)
    if not m:
        sys.exit("check-layering: no <!-- layering --> block in ARCHITECTURE.md")
    out = {}
    for line in m.group(1).splitlines():
        line = line.strip().strip("`")
        if ":" not in line or line.startswith("```"):
            continue
        folder, allowed = line.split(":", 1)
        out[folder.strip()] = set(allowed.split()) | {folder.strip()}
    return out


def target_folder(header):
    if header.endswith(".pb.h"):
        return "protos"
    if "/" not in header:
        return None  # a generated header of the build (version.hpp) or a same-folder include
    return header.split("/", 1)[0]


def main():
    allowed = rules()
    src = REPO / "src"
    violations = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".cpp", ".hpp", ".h"):
            continue
        folder = path.relative_to(src).parts[0]
        if len(path.relative_to(src).parts) == 1:
            continue  # src/version.hpp.in and friends
        if folder not in allowed:
            violations.append(f"{path.relative_to(REPO)}: folder '{folder}' has no rule in ARCHITECTURE.md")
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            to = target_folder(m.group(1))
            if to is None or to in allowed[folder]:
                continue
            violations.append(f"{path.relative_to(REPO)}:{n}: {folder} includes {m.group(1)} ({to} is not below {folder})")
    for v in violations:
        print(v)
    if violations:
        print(f"check-layering: {len(violations)} include(s) cross the layering of ARCHITECTURE.md", file=sys.stderr)
        return 1
    print(f"check-layering: ok ({len(allowed)} folders)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
