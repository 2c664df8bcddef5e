#!/usr/bin/env python3
"""Fails when an #include in src/ or include/lightning/ points to a room of the same or a higher level.

The levels are read from the Rooms table of docs/architecture.md, the one place they are kept.
A file's room is the longest room path its name (under src/ or include/lightning/) starts with;
so is an included file's. `#include <lightning/X>` names X; `#include "X"` names X under src/,
or a file beside the including one when X has no folder.

Usage: check_layers.py PROJECT_ROOT | --self-test
"""
import io
import contextlib
import pathlib
import tempfile
import re
import sys

ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*`([^`]+)`")
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.MULTILINE)


def read_levels(architecture: pathlib.Path) -> dict[str, int]:
    levels = {}
    in_rooms = False
    for line in architecture.read_text().splitlines():
        if line.startswith("## "):
            in_rooms = line.strip() == "## Rooms"
            continue
        match = ROW.match(line) if in_rooms else None
        if match:
            levels[match.group(2).rstrip("/")] = int(match.group(1))
    if not levels:
        sys.exit(f"{architecture}: no Rooms table with `| level | room |` rows")
    return levels


def room_of(path: str, levels: dict[str, int]) -> str | None:
    """The longest room that is `path` or a folder above it."""
    best = None
    for room in levels:
        if (path == room or path.startswith(room + "/")) and (best is None or len(room) > len(best)):
            best = room
    return best


def included_path(source: str, bracket: str, name: str) -> str | None:
    """The included file's path relative to src/ or include/lightning/, or None for other libraries."""
    if bracket == "<":
        return name[len("lightning/"):] if name.startswith("lightning/") else None
    if "/" not in name:
        return str(pathlib.PurePosixPath(source).parent / name)
    return name


def check(root: pathlib.Path) -> int:
    levels = read_levels(root / "docs" / "architecture.md")
    problems = []
    for top in (root / "src", root / "include" / "lightning"):
        for file in sorted(top.rglob("*")):
            if file.suffix not in (".h", ".cpp"):
                continue
            source = file.relative_to(top).as_posix()
            room = room_of(source, levels)
            if room is None:
                if "/" in source:  # the umbrella header lightning.h and build files stand outside the rooms
                    problems.append(f"{file.relative_to(root)}: in no room of docs/architecture.md's Rooms table")
                continue
            text = file.read_text()
            for match in INCLUDE.finditer(text):
                target = included_path(source, match.group(1), match.group(2))
                target_room = room_of(target, levels) if target else None
                if target_room is None or target_room == room:
                    continue
                if levels[target_room] >= levels[room]:
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(
                        f"{file.relative_to(root)}:{line}: {room}/ (level {levels[room]}) includes "
                        f"{match.group(2)} of {target_room}/ (level {levels[target_room]}); "
                        "a room includes only rooms of a lower level")
    for problem in problems:
        print(problem)
    print(f"{len(problems)} layering problem(s) in {len(levels)} rooms")
    return 1 if problems else 0


def self_test() -> int:
    """A tree with one back-include (a connector including a loop) and allowed ones must give that one problem."""
    files = {
        "docs/architecture.md": "## Rooms\n| level | room | holds |\n|---|---|---|\n| 0 | `utilities/` | x |\n"
                                "| 1 | `trainer/connectors/` | x |\n| 2 | `loops/` | x |\n| 3 | `trainer/` | x |\n",
        "src/loops/fit_loop.cpp": '#include "trainer/connectors/settings.h"\n#include "fit_loop.h"\n',
        "src/trainer/trainer.cpp": '#include "loops/fit_loop.h"\n#include <lightning/utilities/seed.h>\n',
        "src/trainer/connectors/settings.cpp": '#include <torch/nn.h>\n\n#include "loops/fit_loop.h"\n',
    }
    with tempfile.TemporaryDirectory() as folder:
        root = pathlib.Path(folder)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = check(root)
    expected = ("src/trainer/connectors/settings.cpp:3: trainer/connectors/ (level 1) includes loops/fit_loop.h of "
                "loops/ (level 2); a room includes only rooms of a lower level\n1 layering problem(s) in 4 rooms\n")
    if status != 1 or out.getvalue() != expected:
        print(f"self-test failed: status {status}, printed:\n{out.getvalue()}expected:\n{expected}")
        return 1
    print("self-test: the back-include was found, and only it")
    return 0


if __name__ == "__main__":
    sys.exit(self_test() if sys.argv[1:] == ["--self-test"] else check(pathlib.Path(sys.argv[1])))
