"""The JSON Schema of the trial spec file: every bundled spec and the template validate,
misspelt keys and wrong types do not, and the copy in the docs is current."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from msreboot.trials import TrialSpec, spec_json_schema, spec_template

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the dev extra")

DOCS_COPY = Path(__file__).resolve().parents[2] / "docs" / "reference" / "trial-spec.schema.json"


def _validator() -> object:
    schema = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(document: dict[str, object]) -> list[str]:
    return [e.message for e in _validator().iter_errors(document)]  # type: ignore[attr-defined]


def test_every_bundled_spec_and_the_template_validate() -> None:
    folder = resources.files("msreboot.trials") / "data"
    for name in TrialSpec.presets():
        document = tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8"))
        assert _errors(document) == [], name
    assert _errors(tomllib.loads(spec_template("mine"))) == []


def test_misspelt_keys_and_wrong_types_are_errors() -> None:
    base = tomllib.loads(spec_template("mine"))
    population = {**base, "population": {**base["population"], "edss_medain": 4.0}}
    assert any("edss_medain" in m for m in _errors(population))
    arms = [{**base["arm"][0], "protcol": "halt_ms"}, *base["arm"][1:]]
    assert any("protcol" in m for m in _errors({**base, "arm": arms}))
    assert any("'five'" in m for m in _errors({**base, "trial": {**base["trial"], "seed": "five"}}))
    schedule = {**base, "schedule": {"edss_every_months": "3"}}
    assert any("'3'" in m for m in _errors(schedule))
    assert _errors({k: v for k, v in base.items() if k != "arm"}) == [
        "'arm' is a required property"
    ]


def test_the_schema_in_the_docs_is_current() -> None:
    shipped = json.loads(DOCS_COPY.read_text(encoding="utf-8"))
    assert shipped == spec_json_schema(), (
        "regenerate it: msreboot simulate schema --out docs/reference/trial-spec.schema.json"
    )
