"""Merging a chain of profile files (``extends``) while remembering which file set each key.

A child file overrides its parent's levels and categories key by key (``info`` fact by fact;
lists are replaced), adds new ones and removes ``drop`` / ``drop_levels`` ids. Every merged key
keeps the :class:`~lifecircle._located.Locator` of the file that set it, so that an error found
later names that file and line.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from typing import Any

from .._errors import ProfileError
from .._located import Locator, Path_
from .model import MARK_HELP, SOURCE_EXAMPLE, miss_message
from .reading import profile_error

log = logging.getLogger(__name__)

#: Keys describing the file itself: not inherited through ``extends``.
OWN_KEYS = (
    "id",
    "version",
    "title_zh",
    "title_en",
    "description",
    "extends",
    "drop",
    "drop_levels",
)
#: Top-level tables merged id by id.
_TABLES = ("levels", "categories", "refs")


class MergedProfile:
    """The merged data of a chain of profile files and the file that set each key path."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.origin: dict[Path_, Locator] = {}
        self.top: Locator | None = None

    # -- provenance ---------------------------------------------------------------------------
    def loc(self, path: Path_) -> Locator:
        """The file that set ``path`` (or the nearest enclosing key)."""
        for k in range(len(path), -1, -1):
            if path[:k] in self.origin:
                return self.origin[path[:k]]
        assert self.top is not None
        return self.top

    def fail(self, path: Path_, message: str) -> ProfileError:
        """A :class:`ProfileError` at ``path``, in the file and line that set it."""
        return profile_error(self.loc(path), path, message)

    def check_keys(
        self, loc: Locator | None, path: Path_, table: Any, valid: Iterable[str], what: str
    ) -> None:
        """Refuse keys not in ``valid``; ``loc`` None = blame the file that set each key."""
        if not isinstance(table, dict):
            raise profile_error(
                loc or self.loc(path),
                path,
                f"expected a table of keys ({what}), got {type(table).__name__} {table!r}",
            )
        valid = list(valid)
        for key in table:
            if key not in valid:
                close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise profile_error(
                    loc or self.loc(path + (str(key),)), path + (str(key),),
                    f"未知键 unknown key {key!r} in {what}: {hint}valid keys: {', '.join(valid)}",
                )  # fmt: skip

    def _set(self, container: dict, path: Path_, key: str, value: Any, loc: Locator) -> None:
        container[key] = value
        full = path + (key,)
        for q in [q for q in self.origin if q[: len(full)] == full]:
            del self.origin[q]
        self.origin[full] = loc

    # -- merging ------------------------------------------------------------------------------
    def merge(self, loc: Locator) -> None:
        """Merge one file over what is merged so far (parents first)."""
        if self.top is None:
            self.origin[()] = loc
        self.top = loc
        for key in OWN_KEYS:
            self.data.pop(key, None)
        for key, value in loc.data.items():
            if key in _TABLES:
                self._merge_table(loc, key, value)
            else:
                self._set(self.data, (), key, value, loc)
        for key, table in (("drop", "categories"), ("drop_levels", "levels")):
            ids = loc.data.get(key)
            if ids is not None:
                self._drop(loc, key, table, ids)

    def _merge_table(self, loc: Locator, key: str, value: Any) -> None:
        if not isinstance(value, dict):
            raise profile_error(loc, (key,), f"expected a table of {key} by id, got {value!r}")
        into = self.data.setdefault(key, {})
        if (key,) not in self.origin:
            self.origin[(key,)] = loc
        for item_id, item in value.items():
            if key != "refs" and isinstance(item, dict):
                _check_distance_source(loc, (key, item_id), item)
                if isinstance(into.get(item_id), dict):
                    self._override(loc, key, item_id, item)
                    continue
            # a copy, so that overrides never write into the parent's data
            new = dict(item) if isinstance(item, dict) else item
            self._set(into, (key,), item_id, new, loc)

    def _override(self, loc: Locator, key: str, item_id: str, item: dict) -> None:
        """Override an inherited level or category key by key, and its ``info`` fact by fact."""
        target = self.data[key][item_id]
        for sub, subval in item.items():
            old = target.get(sub)
            if sub == "info" and isinstance(subval, dict) and isinstance(old, dict):
                target[sub] = dict(old)
                for fk, fv in subval.items():
                    self._set(target[sub], (key, item_id, sub), fk, fv, loc)
            else:
                self._set(target, (key, item_id), sub, subval, loc)

    def _drop(self, loc: Locator, key: str, table: str, ids: Any) -> None:
        """Remove the ids listed under ``drop`` (categories) or ``drop_levels`` (levels)."""
        if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
            raise profile_error(
                loc, (key,), f'give a list of ids, e.g. {key} = ["community_canteen"]'
            )
        for k, item_id in enumerate(ids):
            current = self.data.get(table, {})
            if item_id not in current:
                other = "levels" if table == "categories" else "categories"
                extra = (
                    f" ({item_id!r} is in {other}: use "
                    f"{'drop_levels' if key == 'drop' else 'drop'})"
                    if item_id in self.data.get(other, {})
                    else ""
                )
                raise profile_error(
                    loc, (key, k), miss_message(table[:-1], item_id, list(current)) + extra
                )
            if item_id in loc.data.get(table, {}):
                raise profile_error(
                    loc, (key, k), f"{item_id!r} is both dropped and defined in this file"
                )
            del current[item_id]
            log.debug("profile %s: dropped %s %s", loc.file, table[:-1], item_id)


def _check_distance_source(loc: Locator, path: Path_, item: dict) -> None:
    """A file that sets a distance must say, in the same table, where it comes from."""
    src_key = "sources" if path[0] == "levels" else "distance_source"
    if "distance_m" in item and src_key not in item:
        raise profile_error(
            loc, path + ("distance_m",),
            f"distance_m = {item['distance_m']!r} has no {src_key} in this table: say where the "
            f"number comes from, e.g. {src_key} = {SOURCE_EXAMPLE} ({MARK_HELP})",
        )  # fmt: skip
