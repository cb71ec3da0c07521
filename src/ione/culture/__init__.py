"""The biology side of a site: cultures from recordings, raw electrode streams and models, a
streaming spike detector, and stimulation behind a guard that protects the tissue."""

from __future__ import annotations

__all__: list[str] = []
