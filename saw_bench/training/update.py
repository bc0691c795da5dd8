"""Update: the clipped policy-gradient step on one batch of rollouts and their advantages.

Per token t of completion i, with the ratio against the rollout policy::

    rho_it = exp(log pi(y_it) - log pi_rollout(y_it))
    l_it   = -min(rho_it * A_i, clip(rho_it, 1 - clip_eps, 1 + clip_eps) * A_i)
             + kl_coef * (exp(r_it) - r_it - 1),  r_it = log pi_ref(y_it) - log pi(y_it)
    loss   = mean over completions of (mean over their tokens of l_it)

With one epoch and one mini-batch the ratio is always 1 and clipping is inert; ``minibatches``
and ``epochs`` > 1 make it act (the rollout log-probs are then computed once, up front).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

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
            ratio = torch.exp(logprobs - baseline)
            advantage = advantages[index].unsqueeze(1)
            surrogate = torch.minimum(
                ratio * advantage,
                torch.clamp(ratio, 1 - options.clip_eps, 1 + options.clip_eps) * advantage,
            )
            per_token = -surrogate
            mask = completion_mask[index]
            if reference_logprobs is not None:
                log_ratio = reference_logprobs[index] - logprobs
                kl = torch.exp(log_ratio) - log_ratio - 1
                per_token = per_token + options.kl_coef * kl
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


def sequence_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per row, the mean of ``values`` over the tokens where ``mask`` is 1."""
    return (values * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
