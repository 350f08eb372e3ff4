#!/usr/bin/env python
"""A small mutation runner: do the tests notice when the numbers are wrong?

It parses the chosen modules with :mod:`ast`, makes single-point changes a real bug would look
like, applies each one to a **temporary copy** of the source tree (the worktree is never
modified), runs a pytest selection against the copy and reports, per module, how many mutants
were killed (a test failed), survived (every test passed), timed out or broke the run.

Mutations (one per mutant):

* comparisons ``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``;
* arithmetic ``+`` ↔ ``-``, ``*`` ↔ ``/`` (also ``+=`` ...);
* ``min`` ↔ ``max`` (builtins, methods such as ``.min()``, ``np.minimum`` ↔ ``np.maximum``,
  ``argmin``/``nanmin``/``idxmin`` ...);
* numeric constants ``c`` → ``c + 1`` and ``c`` → ``0``;
* ``and`` ↔ ``or``, and the element-wise ``&`` ↔ ``|`` of numpy/pandas masks;
* a unary minus dropped.

Not mutated: logging and ``warnings.warn`` calls, f-strings, and lines marked
``# pragma: no mutate``.

Usage (from the repository root; everything after ``--`` goes to pytest)::

    python tools/mutate.py src/lifecircle/crs.py -- tests/test_coords.py tests/test_network.py
    python tools/mutate.py 'src/lifecircle/network/*.py' --max-mutants 60 --jobs 2 \\
        --json mutants.json -- tests/test_network.py tests/test_numbers.py
    python tools/mutate.py src/lifecircle/crs.py --list

Each mutant runs ``python -m pytest -x -q -p no:cacheprovider <args>`` with the copy's source
directory first on the path; a pytest plugin checks that the mutated module really is imported
from the copy. The baseline (no mutation) must pass first; the per-mutant timeout defaults to
three times the baseline plus 30 s. ``--max-mutants`` samples that many mutants per module
with a fixed ``--seed``, so the same command picks the same mutants.
"""

from __future__ import annotations

import argparse
import ast
import bisect
import glob
import io
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMPARE = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">")}
COMPARE |= {ast.Eq: ("==", "!="), ast.NotEq: ("!=", "==")}
ARITH = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "/"), ast.Div: ("/", "*")}
BITS = {ast.BitAnd: ("&", "|"), ast.BitOr: ("|", "&")}
BOOL = {ast.And: ("and", "or"), ast.Or: ("or", "and")}
_PAIRS = ["min", "max"], ["minimum", "maximum"], ["fmin", "fmax"], ["amin", "amax"]
_PAIRS += (
    ["argmin", "argmax"],
    ["nanmin", "nanmax"],
    ["idxmin", "idxmax"],
    ["nanargmin", "nanargmax"],
)
MINMAX = {a: b for x, y in _PAIRS for a, b in ((x, y), (y, x))}
#: calls whose arguments are messages, not numbers: ``log.warning(...)``, ``warnings.warn(...)``
QUIET_OWNERS = {"log", "logger", "logging", "warnings"}
PRAGMA = "pragma: no mutate"
MARKER = "MUTATE-IMPORT-MISMATCH"

PLUGIN = f'''
"""Loaded by tools/mutate.py: make sure the mutated module comes from the temporary copy."""
import importlib, os, pytest

def pytest_sessionstart(session):
    name, root = os.environ["MUTATE_MODULE"], os.environ["MUTATE_ROOT"]
    try:
        mod = importlib.import_module(name)
    except Exception:  # the mutant breaks the import: the tests will say so
        return
    if not os.path.realpath(mod.__file__).startswith(os.path.realpath(root)):
        pytest.exit("{MARKER}: " + name + " imported from " + mod.__file__, returncode=4)
'''


@dataclass(frozen=True)
class Mutant:
    """One single-point change: replace each ``(start, end)`` character span by its text."""

    path: str  # relative to the repository root
    line: int
    col: int
    kind: str
    old: str
    new: str
    edits: tuple[tuple[int, int, str], ...]

    def apply(self, source: str) -> str:
        for start, end, text in sorted(self.edits, reverse=True):
            source = source[:start] + text + source[end:]
        return source

    def label(self) -> str:
        return f"{self.path}:{self.line}:{self.col} {self.kind} {self.old!r} -> {self.new!r}"


@dataclass
class Result:
    mutant: Mutant | None  # None: the baseline run
    outcome: str  # killed, survived, timeout, error
    seconds: float
    detail: str = ""


# ---------------------------------------------------------------------- finding mutants
class _Source:
    """Character offsets of AST positions (which are UTF-8 byte columns) and of tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        # ast and tokenize count only \n, \r\n and \r as line ends (str.splitlines more)
        self.lines = [ln + "\n" for ln in text.split("\n")]
        self.starts = [0]
        for ln in self.lines:
            self.starts.append(self.starts[-1] + len(ln))
        self.tokens: list[tuple[int, int, str]] = []
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.OP, tokenize.NAME):
                self.tokens.append(
                    (self.off(*tok.start, chars=True), self.off(*tok.end, chars=True), tok.string)
                )
        self.token_starts = [t[0] for t in self.tokens]
        self.quiet = {i + 1 for i, ln in enumerate(self.lines) if PRAGMA in ln}

    def off(self, line: int, col: int, chars: bool = False) -> int:
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        if not chars:
            col = len(text.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
        return self.starts[line - 1] + col

    def start(self, node: ast.AST) -> int:
        return self.off(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.off(node.end_lineno, node.end_col_offset)

    def token(self, a: int, b: int, text: str) -> tuple[int, int] | None:
        """First token spelled ``text`` starting in [a, b)."""
        i = bisect.bisect_left(self.token_starts, a)
        while i < len(self.tokens) and self.tokens[i][0] < b:
            if self.tokens[i][2] == text:
                return self.tokens[i][0], self.tokens[i][1]
            i += 1
        return None

    def line_col(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i]


def _quiet_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    return isinstance(owner, ast.Name) and owner.id in QUIET_OWNERS


def _annotations(tree: ast.AST) -> set[int]:
    """Ids of annotation nodes (``str | None`` is a BinOp, but never evaluated here)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None:
            out.add(id(node.annotation))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            out.add(id(node.returns))
    return out


def _walk(tree: ast.AST):
    """All nodes except those inside logging calls, f-strings and annotations."""
    skip = _annotations(tree)
    todo = [tree]
    while todo:
        node = todo.pop()
        if id(node) in skip or _quiet_call(node) or isinstance(node, ast.JoinedStr):
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


class _Finder:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.src = _Source(text)
        self.found: list[Mutant] = []

    def add(self, kind: str, old: str, new: str, edits: list[tuple[int, int, str]]) -> None:
        line, col = self.src.line_col(edits[0][0])
        if line in self.src.quiet:
            return
        self.found.append(Mutant(self.path, line, col + 1, kind, old, new, tuple(edits)))

    def swap_between(self, kind: str, left: ast.AST, right: ast.AST, old: str, new: str) -> None:
        span = self.src.token(self.src.end(left), self.src.start(right), old)
        if span is not None:
            self.add(kind, old, new, [(span[0], span[1], new)])

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                if type(op) in COMPARE:
                    self.swap_between("compare", operands[i], operands[i + 1], *COMPARE[type(op)])
        elif isinstance(node, ast.BinOp) and type(node.op) in ARITH | BITS:
            kind = "arith" if type(node.op) in ARITH else "bitop"
            self.swap_between(kind, node.left, node.right, *(ARITH | BITS)[type(node.op)])
        elif isinstance(node, ast.AugAssign) and type(node.op) in ARITH:
            old, new = ARITH[type(node.op)]
            self.swap_between("arith", node.target, node.value, old + "=", new + "=")
        elif isinstance(node, ast.BoolOp):
            self.boolop(node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            s = self.src.start(node)  # the span of a UnaryOp starts at its "-"
            self.add("unary", "-", "", [(s, s + 1, "")])
        elif isinstance(node, ast.Constant):
            self.constant(node)
        elif isinstance(node, ast.Name) and node.id in ("min", "max"):
            s, e = self.src.start(node), self.src.end(node)
            self.add("minmax", node.id, MINMAX[node.id], [(s, e, MINMAX[node.id])])
        elif isinstance(node, ast.Attribute) and node.attr in MINMAX:
            e = self.src.end(node)
            new = MINMAX[node.attr]
            self.add("minmax", node.attr, new, [(e - len(node.attr), e, new)])

    def boolop(self, node: ast.BoolOp) -> None:
        old, new = BOOL[type(node.op)]
        edits = []
        for a, b in zip(node.values, node.values[1:], strict=False):
            span = self.src.token(self.src.end(a), self.src.start(b), old)
            if span is None:
                return
            edits.append((span[0], span[1], new))
        self.add("boolop", old, new, edits)

    def constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return
        s, e = self.src.start(node), self.src.end(node)
        old = self.src.text[s:e]
        news = [v + 1] + ([0] if v != 0 else [])
        for n in news:
            text = repr(float(n)) if isinstance(v, float) else str(n)
            self.add("const", old, text, [(s, e, text)])


def find_mutants(path: Path) -> list[Mutant]:
    """Every mutant of one module, in source order."""
    text = path.read_text(encoding="utf-8")
    rel = path.resolve().relative_to(ROOT).as_posix()
    finder = _Finder(rel, text)
    for node in _walk(ast.parse(text, filename=str(path))):
        finder.visit(node)
    out = []
    for m in sorted(set(finder.found), key=lambda m: (m.line, m.col, m.kind, m.new)):
        try:  # a mutant that does not parse tests nothing
            ast.parse(m.apply(text))
        except SyntaxError:
            print(f"skipped (does not parse): {m.label()}", file=sys.stderr)
            continue
        out.append(m)
    return out


def sample(mutants: list[Mutant], max_mutants: int | None, seed: int) -> list[Mutant]:
    """At most ``max_mutants``, chosen with a fixed seed, in source order."""
    if max_mutants is None or len(mutants) <= max_mutants:
        return mutants
    picked = random.Random(seed).sample(range(len(mutants)), max_mutants)
    return [mutants[i] for i in sorted(picked)]


# ---------------------------------------------------------------------- running
@dataclass
class Runner:
    """Runs pytest against temporary copies of the source tree, one copy per parallel job."""

    src_dir: Path
    pytest_args: list[str]
    jobs: int = 1
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mutate-")))

    def __post_init__(self) -> None:
        (self.workdir / "plugin").mkdir()
        (self.workdir / "plugin" / "_mutate_plugin.py").write_text(PLUGIN)
        self.copies: queue.Queue[Path] = queue.Queue()
        for j in range(self.jobs):
            dst = self.workdir / f"job{j}" / self.src_dir.name
            shutil.copytree(
                self.src_dir, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
            self.copies.put(dst)
        self.stamp = 0

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def module_name(self, rel: str) -> str:
        inner = (ROOT / rel).resolve().relative_to(self.src_dir.resolve())
        parts = list(inner.with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def run(self, rel: str, mutant: Mutant | None, timeout_s: float | None) -> Result:
        copy = self.copies.get()
        target = copy / (ROOT / rel).resolve().relative_to(self.src_dir.resolve())
        original = target.read_text(encoding="utf-8")
        st = target.stat()
        try:
            if mutant is not None:
                target.write_text(mutant.apply(original), encoding="utf-8")
                # a fresh mtime: no cached bytecode or numba cache of another version is reused
                self.stamp += 1
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + self.stamp * 10**9))
            return self._pytest(copy, rel, mutant, timeout_s)
        finally:
            target.write_text(original, encoding="utf-8")
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
            self.copies.put(copy)

    def _pytest(
        self, copy: Path, rel: str, mutant: Mutant | None, timeout_s: float | None
    ) -> Result:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MUTATE_ROOT=str(copy))
        env["MUTATE_MODULE"] = self.module_name(rel)
        env["PYTHONPATH"] = os.pathsep.join([str(self.workdir / "plugin"), str(copy)])
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        cmd += ["-p", "_mutate_plugin", "-o", f"pythonpath={copy}", *self.pytest_args]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Result(mutant, "timeout", time.perf_counter() - t0)
        dt = time.perf_counter() - t0
        if MARKER in out:
            raise SystemExit(f"the copy was not the module tested:\n{out[-2000:]}")
        last = out.strip().splitlines()[-1] if out.strip() else ""
        if proc.returncode == 0:
            return Result(mutant, "survived", dt, last)
        if proc.returncode in (1, 2):  # tests failed, or the mutant broke collection/import
            return Result(mutant, "killed", dt, last)
        return Result(mutant, "error", dt, f"exit {proc.returncode}: {last}")


def baseline(runner: Runner, rel: str) -> float:
    """Run the tests unmutated once in every copy (this also fills numba's caches there).

    Returns the longest run in seconds; stops the tool if a run does not pass.
    """
    with ThreadPoolExecutor(max_workers=runner.jobs) as pool:
        runs = list(pool.map(lambda _: runner.run(rel, None, None), range(runner.jobs)))
    for r in runs:
        if r.outcome != "survived":
            raise SystemExit(f"the tests must pass without mutation first: {r.outcome}, {r.detail}")
    print(f"baseline passed in {max(r.seconds for r in runs):.1f} s ({runs[0].detail})")
    return max(r.seconds for r in runs)


def run_all(runner: Runner, mutants: list[Mutant], timeout_s: float) -> list[Result]:
    """Run every mutant (in parallel when the runner has several copies); print progress."""
    results: list[Result] = []
    n = len(mutants)

    def one(m: Mutant) -> Result:
        r = runner.run(m.path, m, timeout_s)
        results.append(r)
        print(f"[{len(results)}/{n}] {r.outcome:8s} {r.seconds:5.1f}s  {m.label()}", flush=True)
        return r

    with ThreadPoolExecutor(max_workers=runner.jobs) as pool:
        done = list(pool.map(one, mutants))
    return done


# ---------------------------------------------------------------------- reporting
def report(results: list[Result]) -> str:
    """Per-module counts and the surviving mutants."""
    by_module: dict[str, Counter] = {}
    for r in results:
        by_module.setdefault(r.mutant.path, Counter())[r.outcome] += 1
    lines = [f"{'module':45s} {'mutants':>7s} {'killed':>6s} {'survived':>8s} {'timeout':>7s} "
             f"{'error':>5s} {'survival':>8s}"]  # fmt: skip
    for path, c in sorted(by_module.items()):
        judged = c["killed"] + c["survived"] + c["timeout"]
        rate = f"{c['survived'] / judged:.0%}" if judged else "-"
        lines.append(f"{path:45s} {sum(c.values()):7d} {c['killed']:6d} {c['survived']:8d} "
                     f"{c['timeout']:7d} {c['error']:5d} {rate:>8s}")  # fmt: skip
    survivors = [r.mutant for r in results if r.outcome == "survived"]
    if survivors:
        lines.append("\nsurvivors (the tests pass with this change):")
        lines += [
            f"  {m.label()}" for m in sorted(survivors, key=lambda m: (m.path, m.line, m.col))
        ]
    errors = [r for r in results if r.outcome == "error"]
    lines += [f"  error: {r.mutant.label()}: {r.detail}" for r in errors]
    return "\n".join(lines)


def resolve_modules(patterns: list[str]) -> list[Path]:
    paths: list[Path] = []
    for pat in patterns:
        hits = sorted(glob.glob(str(ROOT / pat) if not os.path.isabs(pat) else pat, recursive=True))
        if not hits:
            raise SystemExit(f"no module matches {pat!r} (paths are relative to {ROOT})")
        paths += [Path(h).resolve() for h in hits if h.endswith(".py")]
    return list(dict.fromkeys(paths))


def parse_args(argv: list[str]) -> argparse.Namespace:
    pytest_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, pytest_args = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="+", help="module paths or globs, relative to the repo root")
    ap.add_argument("--src", default="src", help="source root copied for each job (default src)")
    ap.add_argument("--max-mutants", type=int, help="sample at most this many per module")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    ap.add_argument("--jobs", type=int, default=1, help="mutants run in parallel (default 1)")
    ap.add_argument("--timeout", type=float, help="seconds per mutant (default 3 × baseline + 30)")
    ap.add_argument("--json", type=Path, help="write every result to this JSON file")
    ap.add_argument("--list", action="store_true", help="only list the mutants, run nothing")
    args = ap.parse_args(argv)
    args.pytest_args = pytest_args
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    src_dir = (ROOT / args.src).resolve()
    mutants: list[Mutant] = []
    for path in resolve_modules(args.modules):
        if src_dir not in path.parents:
            raise SystemExit(f"{path} is not under the source root {src_dir}")
        found = find_mutants(path)
        picked = sample(found, args.max_mutants, args.seed)
        print(f"{path.relative_to(ROOT)}: {len(found)} mutants, running {len(picked)}")
        mutants += picked
    if args.list or not mutants:
        print("\n".join(m.label() for m in mutants))
        return 0
    if not args.pytest_args:
        raise SystemExit("give the tests to run after --, e.g. -- tests/test_network.py")
    runner = Runner(src_dir, args.pytest_args, jobs=max(1, args.jobs))
    try:
        timeout = args.timeout or 3 * baseline(runner, mutants[0].path) + 30
        print(f"timeout per mutant {timeout:.0f} s", flush=True)
        t0 = time.perf_counter()
        results = run_all(runner, mutants, timeout)
    finally:
        runner.close()
    print(f"\n{len(results)} mutants in {time.perf_counter() - t0:.0f} s, {runner.jobs} job(s)")
    print(report(results))
    if args.json:
        rows = [asdict(r.mutant) | {"outcome": r.outcome, "seconds": round(r.seconds, 2)}
                for r in results]  # fmt: skip
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
