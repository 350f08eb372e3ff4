"""Reading one profile file (TOML or YAML) with the line of every key, for located errors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .._errors import ProfileError
from .._located import Locator, Path_, TomlPositions, located_error, read_text, yaml_positions


def profile_error(loc: Locator, path: Path_, message: str) -> ProfileError:
    """``ProfileError("<file>, line N: <key.path>: message")`` with ``file``, ``line``, ``key``."""
    return located_error(loc, path, message, ProfileError)  # type: ignore[return-value]


def read_profile_file(path: Path, label: str | None = None) -> Locator:
    """Parse a TOML or YAML profile file and locate its keys (``label`` names it in errors)."""
    file = label or str(path)
    text = read_text(path, "profile", ProfileError, label=file)
    if path.suffix.lower() == ".toml":
        return _read_toml(file, path, text)
    return _read_yaml(file, path, text)


def _syntax_error(file: str, line: int, what: str, exc: Exception) -> ProfileError:
    err = ProfileError(f"{file}, line {line}: {what} syntax error: {exc}")
    err.file, err.line, err.key = file, line, ""  # type: ignore[attr-defined]
    return err


def _read_toml(file: str, path: Path, text: str) -> Locator:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_syntax_error(Locator(file, path, {}, {(): 1}), text, exc) from None
    return Locator(file, path, data, TomlPositions(text).pos)


def _toml_syntax_error(loc: Locator, text: str, exc: tomllib.TOMLDecodeError) -> ProfileError:
    m = re.search(r"at line (\d+)", str(exc))
    line = int(m.group(1)) if m else 1
    # Duplicate category tables are the commonest cause of "Cannot declare ... twice".
    seen: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines() if "twice" in str(exc) else [], start=1):
        h = re.match(r"\s*\[\s*categories\s*\.\s*\"?([^\].\"]+)\"?\s*\]\s*(#.*)?$", raw)
        if h:
            cid = h.group(1).strip()
            if cid in seen:
                loc.pos[("categories", cid)] = n
                return profile_error(
                    loc, ("categories", cid),
                    f"duplicate category id {cid!r} (first at line {seen[cid]}, again at line {n}): "
                    "merge the two tables or rename one",
                )  # fmt: skip
            seen[cid] = n
    return _syntax_error(loc.file, line, "TOML", exc)


def _read_yaml(file: str, path: Path, text: str) -> Locator:
    try:
        import yaml
    except ImportError:
        raise ProfileError(
            f"{file}: reading YAML profiles needs PyYAML: pip install pyyaml "
            "(or pip install 'lifecircle[yaml]'), or write the profile as TOML"
        ) from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _syntax_error(file, mark.line + 1 if mark is not None else 1, "YAML", exc) from None
    pos: dict[Path_, int] = {(): 1}
    dups: list = []
    if node is not None:
        yaml_positions(node, (), pos, dups)
    loc = Locator(file, path, data if data is not None else {}, pos)
    if dups:
        raise _duplicate_yaml_key(loc, *dups[0])
    if not isinstance(loc.data, dict):
        raise profile_error(
            loc, (), "a profile must be a mapping of keys (id, levels, categories ...)"
        )
    return loc


def _duplicate_yaml_key(loc: Locator, kpath: Path_, first: int, again: int) -> ProfileError:
    loc.pos[kpath] = again
    what = (
        f"duplicate category id {kpath[-1]!r}"
        if kpath[:-1] == ("categories",)
        else f"duplicate key {kpath[-1]!r}"
    )
    return profile_error(loc, kpath, f"{what} (first at line {first}, again at line {again})")
