"""Shared fixtures of the experiment-description tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ione.network import Experiment, load_experiment

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def serb2020() -> Experiment:
    """The reference experiment, loaded from examples/serb2020.toml."""
    return load_experiment(EXAMPLES / "serb2020.toml")
