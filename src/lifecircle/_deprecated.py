"""Old module paths kept for one release (0.2): ``lifecircle.mapping`` → ``lifecircle.outputs.map``
and the like. Importing one works and warns once with a :class:`DeprecationWarning`."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

#: old module path → new module path
MOVED: dict[str, str] = {
    "lifecircle.mapping": "lifecircle.outputs.map",
    "lifecircle.pool": "lifecircle.outputs.pool",
    "lifecircle.profiles": "lifecircle.standards",
    "lifecircle.coords": "lifecircle.sources.coords",
}

#: old module paths whose name is now taken by something else: old path → (new module, why).
#: Importing one raises an ImportError that says where the module went.
REPLACED: dict[str, tuple[str, str]] = {
    "lifecircle.report": (
        "lifecircle.outputs.tables",
        "lifecircle.report is now the periodic report function, lifecircle.report(analysis, ...)",
    ),
}


def warn_moved(old: str, stacklevel: int = 3) -> ModuleType:
    """Import the new home of ``old`` and warn that the old path is deprecated."""
    new = MOVED[old]
    warnings.warn(
        f"{old} moved to {new} in lifecircle 0.2; the old name will be removed in 0.3",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return importlib.import_module(new)


class _Alias(importlib.abc.Loader):
    def __init__(self, old: str) -> None:
        self.old = old

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a fresh module that gets the new module's names

    def exec_module(self, module: ModuleType) -> None:
        new = warn_moved(self.old, stacklevel=8)
        module.__dict__.update({k: v for k, v in vars(new).items() if not k.startswith("__")})
        module.__doc__ = new.__doc__


class MovedModules(importlib.abc.MetaPathFinder):
    """Finds the old module paths of :data:`MOVED` and loads their new modules."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):  # noqa: ANN201
        if fullname in REPLACED:
            new, why = REPLACED[fullname]
            raise ImportError(f"the module {fullname} moved to {new} in lifecircle 0.2 ({why}); "
                              f"import {new} instead", name=fullname)  # fmt: skip
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(fullname))


def install() -> None:
    """Register the finder once."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())
