"""Update: the clipped policy-gradient step on one batch of rollouts and their advantages.

Per token t of completion i, with the ratio against the rollout policy::

    rho_it = exp(log pi(y_it) - log pi_rollout(y_it))
    l_it   = -min(rho_it * A_i, clip(rho_it, 1 - clip_eps, 1 + clip_eps) * A_i)
             + kl_coef * (exp(r_it) - r_it - 1),  r_it = log pi_ref(y_it) - log pi(y_it)
    loss   = mean over completions of (mean over their tokens of l_it)

With one epoch and one mini-batch the ratio is always 1 and clipping is inert; ``minibatches``
and ``epochs`` > 1 make it act (the rollout log-probs are then computed once, up front).

:func:`stacked_update` is the same step for the runs of a batch (:mod:`saw_bench.policy._stacked`):
one forward and backward over all runs' rollouts, the sum of the runs' losses (run r's loss
depends on run r's slice of the parameters only), each run's gradients clipped to its own norm
(:func:`clip_grad_norm_per_run`) and one AdamW step, which is elementwise and so each run's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from saw_bench.policy import StackedLlama
from saw_bench.training.rollouts import RolloutTensors


@dataclass(frozen=True)
class UpdateOptions:
    temperature: float
    clip_eps: float
    kl_coef: float
    epochs: int
    minibatches: int
    max_grad_norm: float
    fast: bool = True  # the fast training forward where it covers the model


def policy_update(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    rollouts: RolloutTensors,
    advantages: torch.Tensor,
    options: UpdateOptions,
    reference_model: torch.nn.Module | None = None,
) -> dict[str, float]:
    """Optimizer steps on ``rollouts``; returns the mean loss, KL and clipped-token share."""
    device = rollouts.sequences.device
    completion_mask = rollouts.completion_mask
    advantages = advantages.to(device)

    with torch.no_grad():
        old_logprobs = None
        if options.epochs > 1 or options.minibatches > 1:
            old_logprobs = rollouts.logprobs(model, options.temperature, options.fast)
        reference_logprobs = None
        if reference_model is not None:
            reference_logprobs = rollouts.logprobs(
                reference_model, options.temperature, options.fast
            )

    model.train()
    losses, kls, clipped = [], [], []
    chunks = np.array_split(np.arange(completion_mask.shape[0]), options.minibatches)
    for _ in range(options.epochs):
        for chunk in chunks:
            index = torch.as_tensor(chunk, device=device)
            # one minibatch is the whole batch: no need to copy it into a subset
            batch = rollouts if len(chunk) == len(completion_mask) else rollouts.rows(index)
            logprobs = batch.logprobs(model, options.temperature, options.fast)
            baseline = logprobs.detach() if old_logprobs is None else old_logprobs[index]
            reference = None if reference_logprobs is None else reference_logprobs[index]
            per_token, ratio, kl = token_losses(
                logprobs, baseline, advantages[index], reference, options
            )
            mask = completion_mask[index]
            if kl is not None:
                kls.append(float(sequence_mean(kl.detach(), mask).mean()))
            loss = sequence_mean(per_token, mask).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), options.max_grad_norm)
            optimizer.step()
            losses.append(float(loss.detach()))
            outside = ((ratio - 1).abs() > options.clip_eps).float()
            clipped.append(float((outside * mask).sum() / mask.sum().clamp(min=1)))
    return {
        "loss": float(np.mean(losses)),
        "kl": float(np.mean(kls)) if kls else 0.0,
        "clip_fraction": float(np.mean(clipped)),
    }


def token_losses(
    logprobs: torch.Tensor,
    baseline: torch.Tensor,
    advantages: torch.Tensor,
    reference: torch.Tensor | None,
    options: UpdateOptions,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(l_it of the module doc, the ratio rho_it, the KL term or None) of every token."""
    ratio = torch.exp(logprobs - baseline)
    advantage = advantages.unsqueeze(1)
    surrogate = torch.minimum(
        ratio * advantage,
        torch.clamp(ratio, 1 - options.clip_eps, 1 + options.clip_eps) * advantage,
    )
    per_token = -surrogate
    kl = None
    if reference is not None:
        log_ratio = reference - logprobs
        kl = torch.exp(log_ratio) - log_ratio - 1
        per_token = per_token + options.kl_coef * kl
    return per_token, ratio, kl


def stacked_update(
    network: StackedLlama,
    optimizer: torch.optim.Optimizer,
    rollouts: RolloutTensors,
    advantages: torch.Tensor,
    options: UpdateOptions,
    reference_model: torch.nn.Module | None = None,
) -> list[dict[str, float]]:
    """:func:`policy_update` of every run of a batch at once (see the module doc): rollouts and
    advantages hold the runs' rows run after run, the same number per run; returns each run's
    mean loss, KL and clipped-token share. Run r's minibatch j holds its own rows of
    :func:`policy_update`'s minibatch j."""
    runs = network.runs
    device = rollouts.sequences.device
    completion_mask = rollouts.completion_mask
    advantages = advantages.to(device)
    rows = completion_mask.shape[0] // runs
    parameters = list(network.stack.parameters.values())

    def logprobs_of(batch: RolloutTensors) -> torch.Tensor:
        return network.completion_logprobs(
            batch.prompts,
            batch.prompts_mask,
            batch.prompt_index,
            batch.completion_ids,
            batch.completion_mask,
            options.temperature,
        )

    with torch.no_grad():
        old_logprobs = None
        if options.epochs > 1 or options.minibatches > 1:
            old_logprobs = logprobs_of(rollouts)
        reference_logprobs = None
        if reference_model is not None:  # one starting point for every run
            reference_logprobs = rollouts.logprobs(
                reference_model, options.temperature, options.fast
            )

    losses, kls, clipped = [], [], []
    starts = torch.arange(runs, device=device)[:, None] * rows
    for _ in range(options.epochs):
        for chunk in np.array_split(np.arange(rows), options.minibatches):
            index = (torch.as_tensor(chunk, device=device)[None] + starts).reshape(-1)
            batch = rollouts if len(chunk) == rows else rollouts.rows(index)
            logprobs = logprobs_of(batch)
            baseline = logprobs.detach() if old_logprobs is None else old_logprobs[index]
            reference = None if reference_logprobs is None else reference_logprobs[index]
            per_token, ratio, kl = token_losses(
                logprobs, baseline, advantages[index], reference, options
            )
            mask = completion_mask[index]
            if kl is not None:
                kls.append(sequence_mean(kl.detach(), mask).view(runs, -1).mean(dim=1))
            loss = sequence_mean(per_token, mask).view(runs, -1).mean(dim=1)  # (runs,)
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            clip_grad_norm_per_run(parameters, runs, options.max_grad_norm)
            optimizer.step()
            losses.append(loss.detach())
            outside = ((ratio - 1).abs() > options.clip_eps).float() * mask
            clipped.append(
                outside.view(runs, -1).sum(dim=1) / mask.view(runs, -1).sum(dim=1).clamp(min=1)
            )
    per_run = [torch.stack(values).double().mean(dim=0).tolist() for values in (losses, clipped)]
    kl_per_run = torch.stack(kls).double().mean(dim=0).tolist() if kls else [0.0] * runs
    return [
        {"loss": loss, "kl": kl, "clip_fraction": share}
        for loss, kl, share in zip(per_run[0], kl_per_run, per_run[1], strict=True)
    ]


def clip_grad_norm_per_run(parameters: list[torch.Tensor], runs: int, max_norm: float) -> None:
    """``torch.nn.utils.clip_grad_norm_`` of each run's slice (the leading axis) of the
    gradients of ``parameters``, on its own norm."""
    grads = [parameter.grad for parameter in parameters if parameter.grad is not None]
    if not grads:
        return
    norms = [torch.linalg.vector_norm(grad.reshape(runs, -1), 2, dim=1) for grad in grads]
    total = torch.linalg.vector_norm(torch.stack(norms), 2, dim=0)  # (runs,)
    coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for grad in grads:
        grad.mul_(coefficient.view(runs, *([1] * (grad.dim() - 1))).to(grad.dtype))


def sequence_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per row, the mean of ``values`` over the tokens where ``mask`` is 1."""
    return (values * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
