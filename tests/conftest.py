"""Test-wide settings.

Property tests (hypothesis) are derandomized by default, so that ``make test`` gives the same
verdict on every run and every machine; ``HYPOTHESIS_PROFILE=explore make test`` draws new
examples on each run to look for counterexamples (a failure prints the example to keep with
``@example``).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
