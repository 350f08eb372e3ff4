"""Loading standard profiles: built-in names, files, ``extends`` chains.

Built-in profiles live as TOML files next to this module (``lifecircle/standards/profiles``):
``gb50180-2018``, ``tdt1062-2021`` and ``jiaxing-yilao-yixiao``. A city copies one, edits it and
loads it with :func:`load_profile`. A file may ``extends`` another and add, drop or override
categories and levels. Files are validated on load: a :class:`~lifecircle.ProfileError` names the
file, the key path and the line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .._errors import ProfileError
from .._text import key as text_key
from .build import TOP_KEYS, build_profile
from .merge import MergedProfile
from .model import Profile, miss_message
from .reading import profile_error, read_profile_file

log = logging.getLogger(__name__)

#: Folder of the built-in profiles (shipped inside the package).
PROFILE_DIR: Path = Path(__file__).with_name("profiles")

_SUFFIXES = (".toml", ".yaml", ".yml")


def list_profiles() -> list[str]:
    """Names of the built-in profiles, e.g. ``["gb50180-2018", "jiaxing-yilao-yixiao", ...]``."""
    return sorted(p.stem for p in PROFILE_DIR.iterdir() if p.suffix in _SUFFIXES)


def load_profile(name_or_path: str | Path | Profile) -> Profile:
    """Load a standard profile by built-in name or from a TOML/YAML file.

    Parameters
    ----------
    name_or_path : str, Path or Profile
        A built-in name (see :func:`list_profiles`: ``"gb50180-2018"``, ``"tdt1062-2021"``,
        ``"jiaxing-yilao-yixiao"``), a path to a ``.toml``/``.yaml`` file, or a Profile (returned
        as is).

    Returns
    -------
    Profile
        Levels and categories with distance thresholds in metres and their sources.

    Raises
    ------
    ProfileError
        If the name is unknown or the file is invalid; the message names the file, key and line,
        also available as the error's ``file``, ``key`` and ``line`` attributes.
    """
    if isinstance(name_or_path, Profile):
        return name_or_path
    path = resolve_profile(name_or_path, None)
    merged = MergedProfile()
    _load_chain(merged, path, ())
    profile = build_profile(merged)
    log.info(
        "loaded profile %s: %d levels, %d categories (%s)",
        profile.id, len(profile.levels), len(profile.categories), path,
    )  # fmt: skip
    return profile


def resolve_profile(ref: Any, base: Path | None) -> Path:
    """Path of a profile named by ``load_profile``'s argument or an ``extends`` value.

    A relative path is taken from ``base`` (the folder of the extending file); a built-in name
    is compared with :func:`lifecircle._text.key` (case, spaces and punctuation do not matter).
    """
    if isinstance(ref, Path) or (isinstance(ref, str) and ref.lower().endswith(_SUFFIXES)):
        p = Path(ref).expanduser()
        if not p.is_absolute() and base is not None:
            p = base / p
        if not p.exists():
            raise ProfileError(f"profile file not found: {p}")
        if p.suffix.lower() not in _SUFFIXES:
            raise ProfileError(f"{p}: a profile file must end in .toml, .yaml or .yml")
        return p
    if isinstance(ref, str):
        found = _builtin(ref)
        if found is not None:
            return found
        if Path(ref).expanduser().exists():
            return resolve_profile(Path(ref), None)
        raise ProfileError(
            miss_message("built-in profile", ref, list_profiles()) + "; or give a .toml/.yaml path"
        )
    raise ProfileError(
        f"load_profile: give a profile name, a .toml/.yaml path or a Profile, not {ref!r}"
    )


def _builtin(name: str) -> Path | None:
    want = text_key(name)
    for p in PROFILE_DIR.iterdir():
        if p.suffix in _SUFFIXES and text_key(p.stem) == want:
            return p
    return None


def _load_chain(merged: MergedProfile, path: Path, stack: tuple[Path, ...]) -> None:
    """Read ``path``, load what it ``extends`` first, then merge it over that."""
    real = path.resolve()
    if real in stack:
        chain = " → ".join(p.name for p in (*stack, real))
        raise ProfileError(f"profile files extend each other in a loop: {chain}")
    builtin = real.parent == PROFILE_DIR.resolve()
    loc = read_profile_file(path, label=f"{path.name} (built-in)" if builtin else None)
    merged.check_keys(loc, (), loc.data, TOP_KEYS, "top level")
    parent = loc.data.get("extends")
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            raise profile_error(
                loc, ("extends",), "give a built-in profile name or a relative file path"
            )
        try:
            ppath = resolve_profile(parent, path.parent)
        except ProfileError as exc:
            raise profile_error(loc, ("extends",), str(exc)) from None
        _load_chain(merged, ppath, stack + (real,))
    merged.merge(loc)
