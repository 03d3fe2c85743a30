"""Bundled data: a synthetic example cohort made by a seeded generator."""

from msreboot.datasets._example import (
    EXAMPLE_SEED,
    example_path,
    generate_example,
    load_example,
    write_example,
)

__all__ = ["EXAMPLE_SEED", "example_path", "generate_example", "load_example", "write_example"]
