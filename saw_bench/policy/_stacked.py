"""Several runs' models of one Llama architecture as one batched model.

PureJaxRL (Lu et al., 2022, "Discovering Temporally-Aware Reinforcement Learning Algorithms")
trains many seeds of a small agent at once by mapping the whole training step over a seed axis.
Here the runs of a grid that share task, model and shapes do the same:

* :class:`ModelStack` holds the parameters of K models of one architecture stacked on a
  leading run axis, ``(K, ...)``: one leaf tensor per parameter, which one optimizer updates.
  Each run's own model stays a whole ``LlamaForCausalLM`` whose parameters are views of its
  slice, so ``save_pretrained``, ``load_state_dict``, a held-out evaluation or a
  gradient-based weighting agent work on it as on any model, and see every update.
* :class:`StackedLlama` is the fast path's network (:class:`~saw_bench.policy.FastLlama`) with
  every operation that holds weights batched over the runs: the projections and the output
  layer are batched matmuls (``bmm``), each run has its own RMSNorm scales and embedding
  table. The rows of all runs are laid out run after run, the same number per run; attention
  holds no weights and runs over all rows as the fast path's does. Decoding keeps the same
  number of rows per run when it compacts its cache (a run's ended rows stay while another
  run needs more), a training forward buckets each run's completions by length alike, and
  every run samples from its own ``torch.Generator``, seeded as a run alone seeds its global
  RNG, so its draws are those it would make alone.

A run's log-probabilities agree with its model's fast path alone up to float rounding (the
batched matmuls sum in another order), and so its samples are the same tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from saw_bench.policy._fast import FUSE_LIMIT, FastLlama, _Layer, unsupported_reason
from saw_bench.policy._hf import GenerationBatch, Policy


class ModelStack:
    """The parameters of ``models`` (one architecture and config) stacked on a run axis; each
    model's parameters become views of its slice (see the module doc). Tied weights are one
    parameter, as in the model."""

    def __init__(self, models: Sequence[torch.nn.Module]) -> None:
        if not models:
            raise ValueError("a model stack needs at least one model, but got none")
        first = models[0]
        for model in models[1:]:
            if type(model) is not type(first) or model.config.to_dict() != first.config.to_dict():
                raise ValueError(
                    "the models of a stack must share one architecture and config, but got "
                    f"{type(first).__name__} and {type(model).__name__} with other options"
                )
        self.models = list(models)
        per_model = [dict(model.named_parameters()) for model in models]
        self.parameters: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for name, parameter in per_model[0].items():
                stacked = torch.stack([own[name].detach() for own in per_model])
                stacked.requires_grad_(parameter.requires_grad)
                for run, own in enumerate(per_model):
                    own[name].data = stacked.data[run]
                self.parameters[name] = stacked

    def __len__(self) -> int:
        return len(self.models)


def stack_policies(policies: Sequence[Policy]) -> tuple[ModelStack, StackedLlama]:
    """The stack of the policies' models and the batched network over it; a ``ValueError``
    naming the reason when the fast path does not cover their model."""
    reason = unsupported_reason(policies[0].model, training=True)
    if reason is not None:
        raise ValueError(f"the fast path does not cover {policies[0].name} ({reason})")
    stack = ModelStack([policy.model for policy in policies])
    return stack, StackedLlama(stack)


class _StackedProjection:
    """Linear maps that share an input, per run: ``x (K * B, ..., in) -> (K * B, ..., out)``,
    run r's rows through run r's weights, as one batched matmul (over the weights stacked
    together when they are small, else one per map)."""

    def __init__(self, weights: list[torch.Tensor], biases: list[torch.Tensor | None]) -> None:
        runs = weights[0].shape[0]
        if len(weights) == 1 or sum(weight.numel() for weight in weights) <= FUSE_LIMIT:
            weight = weights[0] if len(weights) == 1 else torch.cat(weights, dim=1)
            bias = None
            if biases[0] is not None:
                bias = biases[0] if len(biases) == 1 else torch.cat(biases, dim=1)  # type: ignore[arg-type]
            self.parts = [(weight, bias)]
        else:
            self.parts = list(zip(weights, biases, strict=True))
        self.runs = runs

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(self.runs, -1, shape[-1])
        outputs = []
        for weight, bias in self.parts:
            if bias is None:
                outputs.append(torch.bmm(flat, weight.transpose(1, 2)))
            else:
                outputs.append(torch.baddbmm(bias[:, None, :], flat, weight.transpose(1, 2)))
        out = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
        return out.reshape(*shape[:-1], out.shape[-1])


class StackedLlama(FastLlama):
    """The fast path's network over a :class:`ModelStack` (see the module doc). Inputs hold
    the rows of every run, run after run, the same number per run; set :attr:`generators`
    (one per run) before sampling."""

    def __init__(self, stack: ModelStack) -> None:
        super().__init__(stack.models[0])
        self.stack = stack
        self.runs = len(stack)
        self.generators: list[torch.Generator] | None = None
        model = stack.models[0]
        tied = model.lm_head.weight is model.model.embed_tokens.weight
        self.head_name = "model.embed_tokens.weight" if tied else "lm_head.weight"

    def _weight(self, name: str) -> torch.Tensor:
        return self.stack.parameters[name]

    def _bias(self, name: str) -> torch.Tensor | None:
        return self.stack.parameters.get(name)

    def _projection(self, prefix: str, names: Sequence[str]) -> _StackedProjection:
        return _StackedProjection(
            [self._weight(f"{prefix}.{name}.weight") for name in names],
            [self._bias(f"{prefix}.{name}.bias") for name in names],
        )

    def _layers(self) -> list[_Layer]:
        layers = []
        for index in range(len(self.model.model.layers)):
            prefix = f"model.layers.{index}"
            layers.append(
                _Layer(
                    norm_in=self._weight(f"{prefix}.input_layernorm.weight"),
                    qkv=self._projection(f"{prefix}.self_attn", ("q_proj", "k_proj", "v_proj")),
                    out=self._projection(f"{prefix}.self_attn", ("o_proj",)),
                    norm_post=self._weight(f"{prefix}.post_attention_layernorm.weight"),
                    gate_up=self._projection(f"{prefix}.mlp", ("gate_proj", "up_proj")),
                    down=self._projection(f"{prefix}.mlp", ("down_proj",)),
                )
            )
        return layers

    def _norm(self, hidden: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """LlamaRMSNorm with run r's scale (``weight`` (K, hidden)) on run r's rows."""
        width = hidden.shape[-1]
        states = F.rms_norm(hidden.float(), (width,), None, self.eps).to(hidden.dtype)
        per_run = states.reshape(self.runs, -1, width) * weight[:, None, :]
        return per_run.reshape(hidden.shape)

    def _run_offsets(self, rows: int, size: int, device: torch.device) -> torch.Tensor:
        """(rows,) ``run * size`` of each row (rows laid out run after run)."""
        runs = torch.arange(self.runs, device=device)
        return runs.repeat_interleave(rows // self.runs) * size

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        table = self._weight("model.embed_tokens.weight")  # (K, V, hidden)
        vocabulary = table.shape[1]
        offsets = self._run_offsets(ids.shape[0], vocabulary, ids.device)
        shifted = ids + offsets.view(-1, *([1] * (ids.dim() - 1)))
        return F.embedding(shifted, table.reshape(-1, table.shape[-1]))

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        normed = self._norm(hidden, self._weight("model.norm.weight"))
        flat = normed.reshape(self.runs, -1, normed.shape[-1])
        logits = torch.bmm(flat, self._weight(self.head_name).transpose(1, 2))
        bias = self._bias("lm_head.bias")
        if bias is not None:
            logits = logits + bias[:, None, :]
        return logits.reshape(*hidden.shape[:-1], logits.shape[-1]).float()

    def causal_states(self, input_ids: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("StackedLlama has no causal_states; use a run's own model")

    # ------------------------------------------------------------------ decoding
    def _noise(self, rows: int, vocabulary: int | None, device: torch.device) -> torch.Tensor:
        """Each run's draws from its own generator, as it would draw them alone."""
        if self.generators is None or len(self.generators) != self.runs:
            raise ValueError(f"set one generator per run ({self.runs}) before sampling")
        per_run = rows // self.runs
        draws = []
        for generator in self.generators:
            if vocabulary is None:
                draws.append(
                    torch.rand(
                        (per_run, 1), dtype=torch.float64, device=device, generator=generator
                    )
                )
            else:
                noise = torch.empty((per_run, vocabulary), device=device)
                draws.append(noise.exponential_(1, generator=generator))
        return torch.cat(draws)

    def _rows_to_keep(self, still: torch.Tensor) -> torch.Tensor:
        """Every run keeps as many cache rows as the run with the most rows still decoding:
        its own live rows, then its first ended ones."""
        per_run = still.view(self.runs, -1)
        live = per_run.sum(dim=1)
        spare = int(live.max()) - live
        ended = ~per_run
        extra = ended & (ended.long().cumsum(dim=1) <= spare[:, None])
        return (per_run | extra).view(-1)

    # ------------------------------------------------------------------ training
    def _buckets(self, sizes: torch.Tensor, buckets: int) -> list[torch.Tensor]:
        """Each run's rows sorted by completion length and cut into ``buckets``; bucket b holds
        every run's b-th piece, run after run."""
        per_run = sizes.view(self.runs, -1)
        rows = per_run.shape[1]
        order = torch.argsort(per_run, dim=1, descending=True, stable=True)
        order = order + torch.arange(self.runs, device=sizes.device)[:, None] * rows
        return [piece.reshape(-1) for piece in torch.tensor_split(order, min(buckets, rows), 1)]

    def _scored_logprobs(
        self, states: torch.Tensor, scored: torch.Tensor, targets: torch.Tensor, temperature: float
    ) -> torch.Tensor:
        """Each run's scored positions (padded to the run with the most) through its own output
        layer; the values in row-major order of ``scored``, as the fast path gives them."""
        width = states.shape[-1]
        flat_scored = scored.reshape(self.runs, -1)
        counts = flat_scored.sum(dim=1)
        most = int(counts.max())
        # positions of the scored tokens first, in order, then the others
        where = torch.argsort((~flat_scored).to(torch.int8), dim=1, stable=True)[:, :most]
        chosen = states.reshape(self.runs, -1, width).gather(
            1, where[..., None].expand(-1, -1, width)
        )
        logits = self._logits(chosen.reshape(-1, width)).view(self.runs, most, -1)
        if temperature != 1.0:
            logits = logits / temperature
        picked = logits.gather(-1, targets.reshape(self.runs, -1).gather(1, where)[..., None])
        values = picked.squeeze(-1) - torch.logsumexp(logits, dim=-1)
        valid = torch.arange(most, device=states.device)[None] < counts[:, None]
        return values[valid]


def generate_stacked(
    policies: Sequence[Policy],
    network: StackedLlama,
    prompts: Sequence[Sequence[str]],
    *,
    num_samples: int,
    max_new_tokens: int,
    temperature: float,
    seeds: Sequence[int],
) -> list[GenerationBatch]:
    """Each run's :meth:`Policy.generate` of its ``prompts`` under its ``seeds``, decoded as one
    batch: run r's prompts (the same number per run) answered by run r's model, its draws from
    its own generator. The batches share one prompt and completion width."""
    runs = len(policies)
    if not (len(prompts) == len(seeds) == runs == network.runs):
        raise ValueError(
            f"need prompts and a seed for each of the {network.runs} runs, but got "
            f"{len(prompts)} prompt lists and {len(seeds)} seeds for {runs} policies"
        )
    per_run = len(prompts[0])
    if per_run == 0 or any(len(own) != per_run for own in prompts):
        raise ValueError("every run needs the same (non-zero) number of prompts")
    first = policies[0]
    encoded = first.encode_prompts([prompt for own in prompts for prompt in own])
    device = first.device
    network.generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds]
    try:
        completion_ids = network.sample(
            encoded["input_ids"].to(device),
            encoded["attention_mask"].to(device),
            num_samples=num_samples,
            max_new_tokens=max_new_tokens,
            temperature=float(temperature),
            eos_id=first.eos_token_id,
            pad_id=int(first.tokenizer.pad_token_id),
        )
    finally:
        network.generators = None
    rows = per_run * num_samples
    prompt_index = torch.arange(per_run).repeat_interleave(num_samples)
    batches = []
    for run, policy in enumerate(policies):
        own = slice(run * per_run, (run + 1) * per_run)
        batches.append(
            policy.completion_batch(
                encoded["input_ids"][own][prompt_index].to(device),
                encoded["attention_mask"][own][prompt_index].to(device),
                completion_ids[run * rows : (run + 1) * rows].clone(),
                prompt_index,
            )
        )
    return batches
