"""Importing this module registers saw-bench's advantage estimators with verl.

It is saw-bench's ``verl.plugins`` entry point, which ``import verl`` loads in every process;
``VERL_USE_EXTERNAL_MODULES=saw_bench.integrations.verl_plugin`` loads it explicitly. See
:mod:`saw_bench.integrations.verl`.
"""

from saw_bench.integrations.verl import register

register()
