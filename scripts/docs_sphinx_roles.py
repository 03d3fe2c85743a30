"""Griffe extension for the documentation site: Sphinx roles in docstrings become links.

The docstrings use numpydoc with Sphinx roles (:class:`PopulationSpec`, :func:`~x.y.f`),
which mkdocstrings would show as literal text. This extension, loaded by mkdocs.yml
(``extensions: [scripts/docs_sphinx_roles.py]``), rewrites each role into inline code
wrapped in an *optional* cross-reference: a link when the target is on an API page, plain
code otherwise (never a warning, so ``mkdocs build --strict`` does not depend on which
private names a docstring mentions). The source files are not changed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):`(~?)([^`<>]+?)`")


def _resolve(obj: griffe.Object, target: str) -> str:
    """The full path of ``target`` as seen from ``obj`` (``target`` itself when unknown)."""
    target = target.strip().removesuffix("()")
    if target.startswith("msreboot."):
        return target
    head, _, rest = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        try:
            path = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError):
            scope = scope.parent
            continue
        return f"{path}.{rest}" if rest else path
    return target


def _rewrite(obj: griffe.Object) -> None:
    docstring = obj.docstring
    if docstring is None or ":`" not in docstring.value:
        return

    def replace(match: re.Match[str]) -> str:
        short, target = match[1], match[2].strip()
        shown = target.rsplit(".", 1)[-1] if short else target
        identifier = _resolve(obj, target)
        return f'<autoref identifier="{identifier}" optional>`{shown}`</autoref>'

    docstring.value = ROLE.sub(replace, docstring.value)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of a loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[int] = set()
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            _rewrite(obj)
            stack.extend(m for m in obj.members.values() if not m.is_alias)  # type: ignore[misc]
