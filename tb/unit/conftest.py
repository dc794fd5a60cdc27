"""Fixtures of the unit tests."""
from __future__ import annotations

import pytest

from unit_helpers import Rig


@pytest.fixture
def rig44() -> Rig:
    return Rig(44)
