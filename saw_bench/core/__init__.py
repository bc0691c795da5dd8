"""The core contract every other layer builds on, importing nothing above it.

- :mod:`~saw_bench.core.task`: :class:`TextTask` and :class:`Objective`, one environment family's
  items, prompts and vector reward; :mod:`~saw_bench.core.env`: its Gymnasium face;
  :mod:`~saw_bench.core.spaces`: the free-text spaces.
- :mod:`~saw_bench.core.registry`: ids, aliases and plug-ins (``make``, ``load_task``).
- :mod:`~saw_bench.core.scores`: group normalisation and the normalised aggregate, defined once.
- :mod:`~saw_bench.core.files`: atomic writes and JSON / JSON Lines / TOML reading with clear
  errors; :mod:`~saw_bench.core.errors`: the errors a user can cause.
- :mod:`~saw_bench.core.invented`: invented words for procedural training data.
"""

VERSION = "0.1.0"
