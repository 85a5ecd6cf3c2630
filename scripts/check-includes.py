#!/usr/bin/env python3
"""check-includes.py [--print]: the include graph between libbpfsign's
folders (src/bpfsign/<folder>) and cli/, read from the #include lines,
against the list of allowed edges in docs/architecture.md (the block between
"<!-- include-graph -->" markers, one "folder: what it includes" line each).

Fails when a folder includes one the list does not allow, when the list
names an edge the code no longer has (so the document stays drawn from the
real graph), or when the list has a cycle. --print writes the real graph in
the list's form."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
include = re.compile(r'^\s*#\s*include\s+"bpfsign/([a-z_]+)/', re.M)


def real_graph():
    graph = {}
    sources = [(p, p.relative_to(root / "src/bpfsign").parts[0]) for p in (root / "src/bpfsign").rglob("*")
               if p.suffix in (".cpp", ".hpp", ".in") and len(p.relative_to(root / "src/bpfsign").parts) > 1]
    sources += [(p, "cli") for p in (root / "cli").glob("*") if p.suffix in (".cpp", ".hpp")]
    for path, folder in sources:
        edges = graph.setdefault(folder, set())
        for target in include.findall(path.read_text(encoding="utf-8")):
            if target != folder:
                edges.add(target)
    return graph


def allowed_graph():
    text = (root / "docs/architecture.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- include-graph -->\n```\n(.*?)```\n<!-- include-graph -->", text, re.S)
    if not block:
        sys.exit("check-includes: docs/architecture.md has no include-graph block")
    graph = {}
    for n, line in enumerate(block.group(1).splitlines(), 1):
        m = re.fullmatch(r"([a-z_]+):((?: [a-z_]+)*)", line.strip())
        if not m:
            sys.exit(f"check-includes: docs/architecture.md include-graph line {n}: '{line}' is not 'folder: folder ...'")
        graph[m.group(1)] = set(m.group(2).split())
    return graph


def cycle(graph):
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path + [node, nxt]
            if nxt not in state:
                found = visit(nxt, path + [node])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def render(graph):
    return "".join(f"{f}:{''.join(' ' + t for t in sorted(graph[f]))}\n" for f in sorted(graph))


real = real_graph()
if "--print" in sys.argv:
    sys.stdout.write(render(real))
    sys.exit(0)
allowed = allowed_graph()
problems = []
for folder in sorted(real):
    for target in sorted(real[folder] - allowed.get(folder, set())):
        problems.append(f"{folder} includes {target}, which docs/architecture.md does not allow")
    for target in sorted(allowed.get(folder, set()) - real[folder]):
        problems.append(f"docs/architecture.md lets {folder} include {target}, which it no longer does: remove the edge")
for folder in sorted(set(allowed) - set(real)):
    problems.append(f"docs/architecture.md names a folder '{folder}' that does not exist")
loop = cycle(allowed)
if loop:
    problems.append("the allowed graph has a cycle: " + " -> ".join(loop))
for p in problems:
    print(f"check-includes: {p}")
if problems:
    sys.exit(1)
print(f"check-includes: {sum(len(e) for e in real.values())} edges between {len(real)} folders, all allowed, no cycle")
