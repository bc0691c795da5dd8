"""The submission format, version 2: pydantic models that are the one definition of the schema.

``leaderboard/schema/submission-v2.json`` is generated from :class:`Submission` (JSON Schema
2020-12) by ``python -m saw_bench leaderboard build``; a test checks the committed file is
current. The schema fixes the shape and the types; :func:`saw_bench.leaderboard.validate` adds
what a schema cannot say (hashes of the installed task, bounds, numbers that must agree).

Following the conventions of result-file leaderboards (MTEB keeps per-seed scores and tool and
data revisions in every file; the Open LLM Leaderboard pins the model commit), a submission
carries per-seed results and everything needed to tell whether two results are comparable.

Version 2 differs from version 1 in one point: a verified run may leave its ``curve`` out
(``null``), since its run files hold it (``eval.jsonl``); validate reads it from there, and
``submit`` writes verified runs that way, so the board keeps each curve once. Version 1 files,
where every run carries its curve, are read as they are.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

SCHEMA_VERSION = 2
#: The versions this saw-bench reads (version 1: every run carries its curve).
READ_VERSIONS = (1, 2)
SCHEMA_FILE = f"schema/submission-v{SCHEMA_VERSION}.json"
STATUSES = ("verified", "self-reported")
#: Seeds a submission needs (per configuration).
MIN_SEEDS = 3
MAX_SEEDS = 100
#: Eval curves are downsampled to at most this many points (first and last always kept).
MAX_CURVE_POINTS = 64
MAX_OBJECTIVES = 16
#: The files of a run folder a ``verified`` submission is checked against.
RUN_FILES = ("config.json", "eval.jsonl", "metrics.jsonl", "summary.json")

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
NonNegative = Annotated[float, Field(ge=0)]
RunFileName = Literal["config.json", "eval.jsonl", "metrics.jsonl", "summary.json"]


class _Strict(BaseModel):
    """No extra keys, no type coercion, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class ObjectiveBounds(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    low: float
    high: float


class TaskRef(_Strict):
    env_id: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+-v[0-9]+$", max_length=128),
    ] = Field(description="registered environment id, e.g. saw/ToolCall-Synth-v0")
    env_spec_sha256: Sha256 = Field(
        description="sha256 of the canonical JSON of the environment's id and kwargs (module "
        "paths left out)"
    )
    data_sha256: Sha256 = Field(description="the task's data_fingerprint(): sha256 of its items")
    objectives: list[ObjectiveBounds] = Field(min_length=1, max_length=MAX_OBJECTIVES)


class SawBenchRef(_Strict):
    version: Text
    git_commit: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")] | None = Field(
        description="commit of the saw-bench checkout that built the submission, if known"
    )


class ModelRef(_Strict):
    name: Text
    revision: Text | None = Field(description="model commit or weights hash")
    parameters: Annotated[int, Field(ge=0)] | None


class AgentRef(_Strict):
    name: Slug = Field(description="weighting agent, as in --weighting")
    kwargs: dict[str, JsonValue] = Field(description="the agent's options (weighting_kwargs)")
    priorities: list[float] | None = Field(
        max_length=MAX_OBJECTIVES, description="static priorities per objective, if any"
    )


class CurvePoint(_Strict):
    step: Annotated[int, Field(ge=0)]
    wall_seconds: NonNegative = Field(description="training seconds up to this evaluation")
    objectives: dict[str, float] = Field(description="held-out mean per objective, task units")
    normalised: float = Field(description="aggregate of the objectives mapped to [0, 1]")


class Overhead(_Strict):
    seconds_per_step: NonNegative | None
    weighting_seconds_per_step: NonNegative | None
    weighting_overhead: Annotated[float, Field(ge=0, le=1)] | None = Field(
        description="weight-phase seconds / step seconds, summed over steps"
    )


class RunFiles(_Strict):
    path: Annotated[
        str, StringConstraints(pattern=r"^runs/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", max_length=300)
    ] = Field(
        description="run folder, relative to the leaderboard folder: runs/<task>/<id>/seed-<n> "
        "is the folder seed-<n>/ of the archive runs/<task>/<id>.tar.xz"
    )
    sha256: dict[RunFileName, Sha256]


class SeedResult(_Strict):
    seed: Annotated[int, Field(ge=0)]
    steps: Annotated[int, Field(ge=0)]
    config_sha256: Sha256 = Field(description="sha256 of the canonical JSON of config.json")
    final: dict[str, float] = Field(description="final held-out mean per objective")
    final_normalised: float
    normalised_auc: float | None = Field(description="area under the normalised curve / span")
    curve: Annotated[list[CurvePoint], Field(min_length=1, max_length=MAX_CURVE_POINTS)] | None = (
        Field(
            description="the held-out eval curve; null in a verified run of a version 2 file, "
            "whose curve is read from its run files (eval.jsonl)"
        )
    )
    overhead: Overhead
    hardware: dict[str, JsonValue]
    versions: dict[str, Text]
    run_files: RunFiles | None = Field(description="the committed run files (verified only)")


class Summary(_Strict):
    """Means over seeds of the per-seed numbers; validate recomputes them."""

    seeds: Annotated[int, Field(ge=MIN_SEEDS)]
    final: dict[str, float]
    final_normalised: float
    normalised_auc: float | None
    seconds_per_step: NonNegative | None
    weighting_overhead: Annotated[float, Field(ge=0, le=1)] | None


class Submission(_Strict):
    """One leaderboard entry: one configuration (task, estimator, agent, model) over seeds."""

    schema_version: Literal[1, 2]
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,127}$")]
    name: Text = Field(description="display name chosen by the submitter")
    submitter: Text
    status: Literal["verified", "self-reported"] = Field(
        description="verified: every number is recomputed from run files committed under runs/"
    )
    task: TaskRef
    saw_bench: SawBenchRef
    model: ModelRef
    estimator: Slug
    agent: AgentRef
    train: dict[str, JsonValue] = Field(description="the resolved TrainConfig without the seed")
    config_sha256: Sha256 = Field(
        description="sha256 of the canonical JSON of {task, model, train} (see config_digest)"
    )
    seeds: list[Annotated[int, Field(ge=0)]] = Field(min_length=MIN_SEEDS, max_length=MAX_SEEDS)
    runs: list[SeedResult] = Field(min_length=MIN_SEEDS, max_length=MAX_SEEDS)
    summary: Summary
    hardware: list[dict[str, JsonValue]] = Field(min_length=1, max_length=MAX_SEEDS)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Submission`, as written to ``SCHEMA_FILE``."""
    schema = Submission.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:saw-bench:leaderboard:submission-v{SCHEMA_VERSION}",
        **schema,
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
