"""Weighting agents: each step, K weights for the K objectives from an ObjectiveBatch.

``make_agent(name, **kwargs)`` builds one by name; ``AGENTS`` lists them.
"""

from __future__ import annotations

import inspect
from typing import Any

from saw_bench.core.errors import SawBenchError
from saw_bench.weighting._base import ObjectiveBatch, WeightingAgent, normalise_to_sum
from saw_bench.weighting._drw_grad import DRWGradWeighting
from saw_bench.weighting._gramian import (
    gramian_parameters,
    objective_advantages,
    objective_gramian,
)
from saw_bench.weighting._mgda import MGDAWeighting
from saw_bench.weighting._pcgrad import PCGradWeighting
from saw_bench.weighting._rlw import RandomWeighting
from saw_bench.weighting._saw import SAWWeighting, coefficient_of_variation
from saw_bench.weighting._saw_ema import SAWEmaWeighting
from saw_bench.weighting._saw_floor import SAWFloorWeighting
from saw_bench.weighting._saw_group import SAWGroupWeighting
from saw_bench.weighting._saw_noshift import SAWNoShiftWeighting
from saw_bench.weighting._static import StaticRangeWeighting, StaticWeighting
from saw_bench.weighting._upgrad import UPGradWeighting

AGENTS: dict[str, type[WeightingAgent]] = {
    agent.name: agent
    for agent in (
        StaticWeighting,
        StaticRangeWeighting,
        SAWWeighting,
        SAWGroupWeighting,
        SAWEmaWeighting,
        SAWFloorWeighting,
        SAWNoShiftWeighting,
        RandomWeighting,
        MGDAWeighting,
        PCGradWeighting,
        UPGradWeighting,
        DRWGradWeighting,
    )
}


def make_agent(name: str, **kwargs: Any) -> WeightingAgent:
    """The weighting agent called ``name``, built with ``kwargs``."""
    if name not in AGENTS:
        raise SawBenchError(
            f"unknown weighting agent {name!r}; choose one of {', '.join(sorted(AGENTS))}"
        )
    parameters = inspect.signature(AGENTS[name]).parameters
    accepted = [p for p, v in parameters.items() if v.kind is not v.VAR_KEYWORD]
    if not any(v.kind is v.VAR_KEYWORD for v in parameters.values()):
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise SawBenchError(
                f"weighting agent {name!r} has no option(s) {unknown}; its options: "
                f"{', '.join(accepted) or 'none'}"
            )
    try:
        return AGENTS[name](**kwargs)
    except TypeError as error:
        raise SawBenchError(f"bad options for weighting agent {name!r}: {error}") from None


__all__ = [
    "AGENTS",
    "DRWGradWeighting",
    "MGDAWeighting",
    "PCGradWeighting",
    "UPGradWeighting",
    "gramian_parameters",
    "objective_advantages",
    "objective_gramian",
    "ObjectiveBatch",
    "RandomWeighting",
    "SAWEmaWeighting",
    "SAWFloorWeighting",
    "SAWGroupWeighting",
    "SAWNoShiftWeighting",
    "SAWWeighting",
    "coefficient_of_variation",
    "StaticRangeWeighting",
    "StaticWeighting",
    "WeightingAgent",
    "make_agent",
    "normalise_to_sum",
]
