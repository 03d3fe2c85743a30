"""Write docs/schema.md from the canonical schema (the schema is the single source).

Usage: python scripts/make_schema_doc.py
"""

from pathlib import Path

from msreboot.data._schema_doc import render_schema_markdown

if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
    target.write_text(render_schema_markdown(), encoding="utf-8")
    print(target)
