"""Regenerate the bundled example cohorts (src/msreboot/datasets/example/ and
example_comparator/), byte for byte.

Usage: python scripts/make_example.py
"""

from pathlib import Path

from msreboot.datasets import write_example

if __name__ == "__main__":
    datasets = Path(__file__).resolve().parents[1] / "src" / "msreboot" / "datasets"
    for path in write_example(datasets / "example"):
        print(path)
    for path in write_example(datasets / "example_comparator", comparator=True):
        print(path)
