#!/usr/bin/env python3
"""Fails when a source file includes a layer above its own (docs/architecture.md).

core/ is layered, lowest first: base, config, runtime, sched, health, forward,
control, daemon. A file may include its own folder and the folders below it.
vrrp/ sits beside forward/ and may use base, config and runtime; cli/ is a client
of the control protocol. Tests, perf and fuzz targets may include anything.

  tests/lint/check_layers.py [ROOT]     prints each upward include, exit 1 if any
"""
import re
import sys
from pathlib import Path

CORE_ORDER = ["base", "config", "runtime", "sched", "health", "forward", "control", "daemon"]

ALLOWED = {f"core/{layer}": {f"core/{below}" for below in CORE_ORDER[: i + 1]}
           for i, layer in enumerate(CORE_ORDER)}
ALLOWED["vrrp"] = {"core/base", "core/config", "core/runtime", "vrrp"}
ALLOWED["core/control"] |= {"vrrp"}
ALLOWED["core/daemon"] |= {"vrrp"}
ALLOWED["cli"] = {"core/base", "core/config", "core/control", "cli"}

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', re.M)


def folder_of(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:2]) if parts[0] == "core" else parts[0]


def violations(root: Path):
    found = []
    for source in sorted(root.glob("core/**/*")) + sorted(root.glob("vrrp/**/*")) + sorted(root.glob("cli/**/*")):
        if source.suffix not in (".h", ".cc") or not source.is_file():
            continue
        rel = source.relative_to(root).as_posix()
        owner = folder_of(rel)
        if owner not in ALLOWED:
            found.append(f"{rel}: folder '{owner}' is not a known layer (tests/lint/check_layers.py)")
            continue
        text = source.read_text()
        for match in INCLUDE.finditer(text):
            target = match.group(1)
            line = text.count("\n", 0, match.start()) + 1
            if "/" not in target:
                found.append(f"{rel}:{line}: include \"{target}\" without its folder")
                continue
            layer = folder_of(target)
            if layer not in ALLOWED[owner]:
                found.append(f"{rel}:{line}: {owner} includes {target} ({layer} is not below {owner})")
    return found


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    found = violations(root)
    for line in found:
        print(line)
    print(f"check_layers: {len(found)} upward include(s)" if found else "check_layers: every include goes down or sideways")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
