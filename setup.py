"""Package layout: the top-level ``envs/`` folder is installed as ``saw_bench.envs``.

A top-level import package called ``envs`` would collide with other distributions, so the folder
is mapped into the ``saw_bench`` namespace. Every family folder under ``envs/`` is picked up
without editing this file.
"""

from setuptools import find_packages, setup

env_packages = ["saw_bench.envs"] + [f"saw_bench.envs.{name}" for name in find_packages("envs")]
setup(
    packages=find_packages(include=["saw_bench", "saw_bench.*"]) + env_packages,
    package_dir={"saw_bench.envs": "envs"},
    # the verifiers taskset `saw-bench-tasks`: verifiers imports a taskset by its top-level name
    py_modules=["saw_bench_tasks"],
)
