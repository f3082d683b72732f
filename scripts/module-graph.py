#!/usr/bin/env python3
"""Prints the module graph of a Rust crate and its import cycles.

Usage: scripts/module-graph.py storage/src [crawler-cli/src tests/lib.rs ...]

Each argument is a crate root (`lib.rs`, `main.rs`) or a folder: a folder stands for
the roots in it (`fixtures/src` is its library and its binary, checked one at a time).
Modules are found as rustc finds them, from the root's `mod x;` declarations (`x.rs`
or `x/mod.rs`, beside a `lib.rs`, `main.rs` or `mod.rs`, else in the folder named
after the file); a `#[cfg(test)] mod tests` block is a module of its own
(`a::b::tests`), since a test may use what it tests.
An edge `a -> b` means that `a` names `b` in a `use` or a `crate::`/`super::`/`self::`
path (a name re-exported by the crate root counts as its defining module). Declaring a
child module (`mod x;`) is not an edge, nor is a module's use of its own tests module.
Exits 1 when a graph has a cycle.
"""

import re
import sys
from pathlib import Path


ROOTS = ("lib.rs", "main.rs")


def crate_modules(root_file: Path) -> dict:
    """Each module of the crate rooted at `root_file` (a tuple of names) -> its file."""
    modules = {}

    def walk(module: tuple, file: Path):
        modules[module] = file
        # The root and a `mod.rs` keep their children beside them; `a/b.rs` in `a/b/`.
        owns_folder = module == () or file.name == "mod.rs"
        folder = file.parent if owns_folder else file.parent / file.stem
        code = strip_comments(file.read_text())
        for name in re.findall(r"^\s*(?:pub(?:\([\w:\s]+\))?\s+)?mod\s+(\w+)\s*;", code, re.M):
            for child in (folder / f"{name}.rs", folder / name / "mod.rs"):
                if child.is_file():
                    walk(module + (name,), child)
                    break
            else:
                print(f"{file}: no file for `mod {name};`", file=sys.stderr)

    walk((), root_file)
    return modules


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] if "//" in line else line for line in text.splitlines())


def split_tests(text: str):
    """The code before `#[cfg(test)] mod tests {`, and the tests module's code."""
    match = re.search(r"#\[cfg\(test\)\]\s*(?:pub(?:\([\w:]+\))?\s+)?mod tests\s*\{", text)
    if not match:
        return text, None
    return text[: match.start()], text[match.end():]


def expand_use(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.replace(" ", "").replace("\n", "")
    depth = 0
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                prefix, inner = tree[:i], tree[i + 1 : tree.rindex("}")]
                items, start, level = [], 0, 0
                for j, c in enumerate(inner):
                    level += c == "{"
                    level -= c == "}"
                    if c == "," and level == 0:
                        items.append(inner[start:j])
                        start = j + 1
                items.append(inner[start:])
                out = []
                for item in items:
                    if item:
                        out += expand_use(prefix + item)
                return out
            depth += 1
    return [re.sub(r"::self$", "", re.sub(r"\bas\b.*$", "", tree))]


def check(root_file: Path) -> bool:
    """Prints the graph of one crate; whether it has no cycle."""
    sources = {}
    for module, file in crate_modules(root_file).items():
        code, tests = split_tests(strip_comments(file.read_text()))
        sources[module] = code
        if tests is not None:
            sources[module + ("tests",)] = tests
    modules = set(sources)

    # Names the crate root re-exports, to the module that defines them.
    reexports = {}
    for tree in re.findall(r"pub use ([^;]+);", sources[()]):
        for path in expand_use(tree):
            segments = path.split("::")
            reexports[segments[-1]] = tuple(segments[:-1])

    def resolve(current: tuple, path: str):
        segments = [s for s in path.split("::") if s]
        if not segments:
            return None
        if segments[0] == "crate":
            base, segments = (), segments[1:]
        elif segments[0] in ("super", "self"):
            base = current
            while segments and segments[0] in ("super", "self"):
                if segments[0] == "super":
                    base = base[:-1]
                segments = segments[1:]
        else:
            return None
        if base == () and segments and segments[0] in reexports:
            return reexports[segments[0]]
        best = base
        for n in range(1, len(segments) + 1):
            if base + tuple(segments[:n]) in modules:
                best = base + tuple(segments[:n])
        return best

    edges = {m: set() for m in modules}
    for module, code in sources.items():
        # A tests module's `super` is the module it tests.
        current = module
        paths = []
        for tree in re.findall(r"\buse\s+([^;]+);", code):
            paths += expand_use(tree)
        rest = re.sub(r"\buse\s+[^;]+;", "", code)
        paths += re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", rest)
        # A `use` of a child module without `self::` (`use totals::Totals;`, 2018 paths).
        paths = [
            "self::" + p if p.split("::")[0] != "self" and module + (p.split("::")[0],) in modules else p
            for p in paths
        ]
        # A path through a child module (`holder::claim`) without `self::`.
        for child in re.findall(r"(?<![:\w])(\w+)::\w", rest):
            if module + (child,) in modules and child != "tests":
                paths.append("self::" + child)
        for path in paths:
            target = resolve(current, path)
            if target is not None and target != module and target != () and target in modules:
                # A module does not depend on its own tests module, nor on itself.
                if target[: len(module)] == module and target[-1:] == ("tests",):
                    continue
                edges[module].add(target)

    name = lambda m: "::".join(m) or "crate"
    for module in sorted(modules):
        if edges[module]:
            print(f"{name(module)} -> {', '.join(sorted(name(t) for t in edges[module]))}")

    # Strongly connected components (Tarjan): any with more than one module is a cycle.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(name(m) for m in component))

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    print()
    if cycles:
        for cycle in cycles:
            print(f"cycle of {len(cycle)}: {', '.join(cycle)}")
        return False
    print(f"{len(modules)} modules, no cycle")
    return True


def main() -> int:
    roots = []
    for arg in sys.argv[1:] or ["src"]:
        path = Path(arg)
        found = [path] if path.is_file() else [path / r for r in ROOTS if (path / r).is_file()]
        if not found:
            print(f"{arg}: no crate root (lib.rs or main.rs) there", file=sys.stderr)
            return 2
        roots += found
    ok = True
    for n, root in enumerate(roots):
        if len(roots) > 1:
            print(f"{'' if n == 0 else chr(10)}== {root}")
        ok = check(root) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
