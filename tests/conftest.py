"""Shared test settings."""

import os

from hypothesis import settings

# The machines are small and shared: no per-example deadline. In CI the examples are derived
# from the test names, so a failure there reproduces exactly on a developer's machine.
settings.register_profile("saw", deadline=None, print_blob=True)
settings.register_profile("ci", parent=settings.get_profile("saw"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "saw")
