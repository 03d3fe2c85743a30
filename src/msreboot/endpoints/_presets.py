"""Named presets: classmethods marked as published definitions, found by name.

A rule class marks each classmethod that reproduces a publication with :func:`published`;
``presets()`` lists their names in declaration order, so a new preset is one method and
every list of names (the TOML reader, the CLI choices) follows from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["preset_names", "published"]

_MARK = "_msreboot_preset"
F = TypeVar("F", bound=Callable[..., Any])


def published(method: F) -> F:
    """Mark a classmethod's function as a published preset (put it under ``@classmethod``)."""
    setattr(method, _MARK, True)
    return method


def preset_names(cls: type) -> tuple[str, ...]:
    """Names of the marked classmethods of ``cls`` (and its bases), in declaration order."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if (
                isinstance(value, classmethod)
                and getattr(value.__func__, _MARK, False)
                and name not in names
            ):
                names.append(name)
    return tuple(names)
