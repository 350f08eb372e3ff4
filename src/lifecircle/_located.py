"""Reading TOML/YAML files while keeping the line of every key, for error messages that name
the key and its line (profiles and run configurations)."""

from __future__ import annotations

import bisect
import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Path_ = tuple[str | int, ...]


class TomlPositions:
    """Line of every key, table and array element of a TOML text already checked by tomllib."""

    _BARE = re.compile(r"[A-Za-z0-9_-]+")
    _SCALAR = re.compile(r"[^,\]}\n#]*")

    def __init__(self, text: str) -> None:
        self.s, self.n, self.i = text, len(text), 0
        self.newlines = [k for k, ch in enumerate(text) if ch == "\n"]
        self.pos: dict[Path_, int] = {(): 1}
        try:
            self._run()
        except (IndexError, ValueError, AttributeError) as exc:  # never hide the real error
            log.debug("TOML position scan stopped early: %s", exc)

    def _line(self, i: int) -> int:
        return bisect.bisect_left(self.newlines, i) + 1

    def _record(self, path: Path_, i: int) -> None:
        self.pos.setdefault(path, self._line(i))

    def _ws(self, newlines: bool) -> None:
        s = self.s
        while self.i < self.n:
            ch = s[self.i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.i += 1
            elif ch == "#":
                j = s.find("\n", self.i)
                self.i = self.n if j < 0 else j
            else:
                break

    def _key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self._ws(False)
            ch = self.s[self.i]
            if ch == '"':
                j = self._end_basic(self.i + 1)
                parts.append(tomllib.loads("k = " + self.s[self.i : j])["k"])
                self.i = j
            elif ch == "'":
                j = self.s.index("'", self.i + 1)
                parts.append(self.s[self.i + 1 : j])
                self.i = j + 1
            else:
                m = self._BARE.match(self.s, self.i)
                parts.append(m.group())  # type: ignore[union-attr]
                self.i = m.end()  # type: ignore[union-attr]
            self._ws(False)
            if self.i < self.n and self.s[self.i] == ".":
                self.i += 1
                continue
            return tuple(parts)

    def _end_basic(self, k: int) -> int:
        """Index just past the closing quote of a one-line basic string starting before ``k``."""
        while self.s[k] != '"':
            k += 2 if self.s[k] == "\\" else 1
        return k + 1

    def _value(self, path: Path_) -> None:
        s, i = self.s, self.i
        if s.startswith(('"""', "'''"), i):
            self.i = self._end_multiline(i)
        elif s[i] == '"':
            self.i = self._end_basic(i + 1)
        elif s[i] == "'":
            self.i = s.index("'", i + 1) + 1
        elif s[i] == "[":
            self._array(path)
        elif s[i] == "{":
            self._inline_table(path)
        else:
            self.i = self._SCALAR.match(s, i).end()  # type: ignore[union-attr]

    def _end_multiline(self, i: int) -> int:
        """Index just past a multi-line string (basic or literal) starting at ``i``."""
        s, quote = self.s, self.s[i : i + 3]
        if quote == '"""':
            k = i + 3
            while not s.startswith('"""', k):
                k += 2 if s[k] == "\\" else 1
            k += 3
        else:
            k = s.index(quote, i + 3) + 3
        while k < self.n and s[k] == quote[0]:
            k += 1
        return k

    def _array(self, path: Path_) -> None:
        self.i += 1
        idx = 0
        while True:
            self._ws(True)
            if self.s[self.i] == "]":
                self.i += 1
                return
            self._record(path + (idx,), self.i)
            self._value(path + (idx,))
            self._ws(True)
            if self.s[self.i] == ",":
                self.i += 1
            idx += 1

    def _inline_table(self, path: Path_) -> None:
        self.i += 1
        while True:
            self._ws(True)
            if self.s[self.i] == "}":
                self.i += 1
                return
            self._pair(path)
            self._ws(True)
            if self.s[self.i] == ",":
                self.i += 1

    def _pair(self, table: Path_) -> None:
        start = self.i
        parts = self._key()
        for k in range(1, len(parts) + 1):
            self._record(table + parts[:k], start)
        self._ws(False)
        self.i += 1  # '='
        self._ws(False)
        self._value(table + parts)

    def _run(self) -> None:
        table: Path_ = ()
        arrays: dict[Path_, int] = {}
        while True:
            self._ws(True)
            if self.i >= self.n:
                return
            start = self.i
            if self.s.startswith("[[", self.i) or self.s[self.i] == "[":
                is_array = self.s.startswith("[[", self.i)
                self.i += 2 if is_array else 1
                parts = self._key()
                self.i += 2 if is_array else 1
                resolved: Path_ = ()
                for k, part in enumerate(parts):
                    resolved += (part,)
                    self._record(resolved, start)
                    if is_array and k == len(parts) - 1:
                        arrays[resolved] = arrays.get(resolved, -1) + 1
                        resolved += (arrays[resolved],)
                    elif resolved in arrays:
                        resolved += (arrays[resolved],)
                table = resolved
                self._record(table, start)
            else:
                self._pair(table)


def yaml_positions(node: Any, path: Path_, pos: dict[Path_, int], dups: list) -> None:
    import yaml

    pos.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            key = str(knode.value)
            line = knode.start_mark.line + 1
            if key in seen:
                dups.append((path + (key,), seen[key], line))
            seen[key] = line
            pos[path + (key,)] = line
            yaml_positions(vnode, path + (key,), pos, dups)
    elif isinstance(node, yaml.SequenceNode):
        for k, item in enumerate(node.value):
            yaml_positions(item, path + (k,), pos, dups)


@dataclass
class Locator:
    """A parsed profile file: its data and the line of every key path."""

    file: str
    path: Path | None
    data: dict[str, Any]
    pos: dict[Path_, int]

    def line(self, path: Path_) -> int:
        for k in range(len(path), -1, -1):
            if path[:k] in self.pos:
                return self.pos[path[:k]]
        return 1


def _key_text(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def located_error(loc: Locator, path: Path_, message: str, error: type[Exception]) -> Exception:
    """``error("<file>, line N: <key.path>: message")`` with ``.file``, ``.line``, ``.key`` set."""
    line = loc.line(path)
    key = _key_text(path)
    err = error(f"{loc.file}, line {line}: {key}: {message}")
    err.file, err.line, err.key = loc.file, line, key  # type: ignore[attr-defined]
    return err


def read_text(path: Path, what: str, error: type[Exception], label: str | None = None) -> str:
    """The UTF-8 text of ``path``, or ``error`` saying the file is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{label or path}: not UTF-8 text ({exc}); save the file as UTF-8") from None
