"""Regenerate the bundled example cohort (src/msreboot/datasets/example/), byte for byte.

Usage: python scripts/make_example.py
"""

from pathlib import Path

from msreboot.datasets import write_example

if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "src" / "msreboot" / "datasets" / "example"
    for path in write_example(target):
        print(path)
