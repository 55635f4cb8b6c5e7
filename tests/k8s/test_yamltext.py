"""The YAML writer: what it writes reads back as the same data."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dockml.k8s.yamltext import dump, scalar

keys = st.text(min_size=1, max_size=12)
leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
trees = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=20
)


@settings(deadline=None)  # no deadline: PyYAML's reader is slow on a loaded CI machine
@given(st.dictionaries(keys, trees, max_size=6))
def test_round_trips(data):
    assert yaml.safe_load(dump(data)) == (data or None)


def test_strings_that_read_as_something_else_are_quoted():
    for text in ["1", "0.5", "yes", "on", "null", "~", "1e3", "25%", "a: b", "", "-", "#x", "*x", "&x", "2026-01-01"]:
        assert yaml.safe_load(scalar(text)) == text


def test_names_and_quantities_stay_plain():
    for text in ["rf-api", "app.kubernetes.io/name", "/health/ready", "512Mi", "500m", "RuntimeDefault"]:
        assert scalar(text) == text
