"""msreboot: stem-cell therapy for multiple sclerosis, from one set of published definitions.

Subpackages: :mod:`msreboot.data` (schema, readers, validation, store, de-identification),
:mod:`msreboot.datasets` (bundled example data).
"""

from msreboot._version import __version__

__all__ = ["__version__"]
