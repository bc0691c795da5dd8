"""The trainer-side hook of the gradient-based agents: the K x K Gramian of per-objective
policy gradients.

For objective k, with per-objective advantages A_ik (objective k's rewards normalised within
each group, :func:`objective_advantages`), the policy loss at ratio 1 is::

    L_k = mean_i ( mean_{t in completion i} ( -exp(logp_it - stopgrad(logp_it)) * A_ik ) )
    g_k = dL_k / dtheta          (the policy gradient with advantage A_k)
    G   = [g_k . g_l]_kl         (K x K, float64)

Two ways to compute it:

- cheap (default): ONE forward pass gives all K losses; K backward passes through the retained
  graph reach only the chosen parameters. With ``parameters="subset"`` (the last transformer
  block and the final norm; tied embeddings and the LM head are left out) the LM head's backward
  (costly with a large vocabulary) runs once, shared by the objectives, and the K backward
  passes go through the final norm and one block only.
- ``separate_passes=True``: one forward and one backward per objective, as in the released code
  of Lu et al. (arXiv 2509.11452), whose reported overhead measures that cost.

What each costs, measured, is on the docs page concepts/speed.md ("The gradient agents'
Gramian").

``parameters="full"`` takes every trainable parameter. The log-probabilities come from the
caller (the trainer: :func:`saw_bench.policy.completion_logprobs` or the fast path), so this
module needs no model code of its own. The model is put in training mode for the computation
(as in the update) and its mode restored afterwards; ``.grad`` is untouched. torch is imported
inside the functions, so the weighting package stays importable without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from saw_bench.core.errors import SawBenchError
from saw_bench.core.scores import group_normalise
from saw_bench.weighting._base import ObjectiveBatch

if TYPE_CHECKING:
    import torch

PARAMETER_SETS = ("subset", "full")
#: Attribute names of the final norm next to the block list (Llama/Qwen/Mistral, GPT-2, others).
FINAL_NORM_NAMES = ("norm", "ln_f", "final_layernorm", "final_layer_norm", "norm_f")
#: Without a recognisable block list: the last parameters covering this share of the weights.
FALLBACK_SUBSET_SHARE = 0.1


def check_parameter_set(parameters: str) -> str:
    if parameters not in PARAMETER_SETS:
        raise ValueError(
            f"parameters must be one of {', '.join(map(repr, PARAMETER_SETS))}, "
            f"but got {parameters!r}"
        )
    return parameters


def objective_advantages(rewards: np.ndarray, group_ids: np.ndarray) -> np.ndarray:
    """(n, K): each objective's rewards normalised within each group (GRPO's advantage)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.ndim != 2:
        raise ValueError(f"rewards must be an (n, K) array, but got shape {rewards.shape}")
    return group_normalise(rewards, np.asarray(group_ids))


def gramian_parameters(
    model: torch.nn.Module, parameters: str = "subset"
) -> list[tuple[str, torch.nn.Parameter]]:
    """The (name, parameter) pairs the Gramian is taken over.

    ``"full"``: every trainable parameter (tied ones once). ``"subset"``: the last block of the
    largest ``ModuleList`` (the transformer's layers) and the final norm beside it; without such
    a list, the last trainable parameters covering 10% of the weights. Both subsets leave out the
    input and output embeddings (tied or not)."""
    check_parameter_set(parameters)
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if parameters == "full":
        return trainable
    embeddings = _embedding_parameter_ids(model)
    candidates = [(name, p) for name, p in trainable if id(p) not in embeddings]
    modules = _last_block_and_final_norm(model)
    if modules:
        wanted = {id(p) for module in modules for p in module.parameters()}
        subset = [(name, p) for name, p in candidates if id(p) in wanted]
    else:
        target = FALLBACK_SUBSET_SHARE * sum(p.numel() for _, p in candidates)
        subset, covered = [], 0
        for name, p in reversed(candidates):
            if covered >= target:
                break
            subset.insert(0, (name, p))
            covered += p.numel()
    if not subset:
        raise SawBenchError(
            f"found no trainable parameters for the Gramian subset of {type(model).__name__}; "
            "use parameters='full'"
        )
    return subset


def objective_gramian(
    model: torch.nn.Module,
    completion_mask: torch.Tensor,
    objective_advantages: torch.Tensor,
    logprobs: Callable[[], torch.Tensor],
    *,
    parameters: str = "subset",
    separate_passes: bool = False,
    share_head: bool = False,
) -> np.ndarray:
    """G[k, l] = g_k . g_l for the per-objective policy losses L_k (module docstring), (K, K).

    completion_mask: (n, T), 1 on completion tokens; objective_advantages: (n, K);
    ``logprobs()``: the (n, T) completion log-probabilities under ``model``, with gradients
    (for example :func:`saw_bench.policy.completion_logprobs` with the step's rollouts and
    temperature). ``share_head``: ``logprobs`` runs the model's output-embeddings module once,
    on hidden states of shape (n, positions, d) whose positions -T-1 .. -2 predict the
    completion (a Hugging Face forward, as ``completion_logprobs``); the head's backward then
    runs once instead of once per objective when the chosen parameters lie below it."""
    import torch

    check_parameter_set(parameters)
    rows = completion_mask.shape[0]
    advantages = torch.as_tensor(objective_advantages, dtype=torch.float32)
    advantages = advantages.to(completion_mask.device)
    if advantages.ndim != 2 or advantages.shape[0] != rows:
        raise ValueError(
            f"objective_advantages must have shape ({rows}, K), but got {tuple(advantages.shape)}"
        )
    chosen = [p for _, p in gramian_parameters(model, parameters)]
    mask = completion_mask.float()
    was_training = model.training
    model.train()
    try:
        if separate_passes:
            gradients = [
                _objective_gradients(
                    model, logprobs, mask, advantages[:, k : k + 1], chosen, share_head=False
                )[0]
                for k in range(advantages.shape[1])
            ]
        else:
            gradients = _objective_gradients(
                model, logprobs, mask, advantages, chosen, share_head=share_head
            )
    finally:
        model.train(was_training)
    return _gram_matrix(gradients, chosen)


def batch_gramian(batch: ObjectiveBatch, agent: str) -> np.ndarray:
    """The batch's Gramian as a symmetric float64 (K, K) array; a clear error without one."""
    if batch.gramian is None:
        raise SawBenchError(f"{agent} needs the policy-gradient Gramian; the trainer supplies it")
    gramian = np.asarray(batch.gramian(), dtype=np.float64)
    k = batch.num_objectives
    if gramian.shape != (k, k) or not np.all(np.isfinite(gramian)):
        raise ValueError(f"the Gramian must be a finite ({k}, {k}) matrix, but got {gramian}")
    return (gramian + gramian.T) / 2


# ---------------------------------------------------------------------- helpers
def _objective_gradients(
    model: torch.nn.Module,
    logprobs: Callable[[], torch.Tensor],
    mask: torch.Tensor,
    advantages: torch.Tensor,
    chosen: list[torch.nn.Parameter],
    share_head: bool,
) -> list[tuple[torch.Tensor | None, ...]]:
    """One forward pass, then dL_k/d(chosen) for each column k of ``advantages``.

    At ratio 1, dL_k/dlogp_it = -A_ik m_it / (n |m_i|), so g_k is the backward of logp with
    that upstream gradient. With ``share_head`` (the chosen parameters lie below the LM head),
    the head's backward, the costly part with a large vocabulary, runs once instead of K times:
    logp_t depends on the head's input x only at its own position, so one backward of sum_t logp_t
    gives d logp_t / d x_t at every position, objective k's gradient at x is that times
    dL_k/dlogp_t, and the K backward passes start at x."""
    import torch

    rows, length = mask.shape
    token_weights = mask / mask.sum(dim=1, keepdim=True).clamp(min=1) / rows
    upstream = -advantages.T.unsqueeze(-1) * token_weights  # (K, n, T): dL_k / dlogp
    head = _output_head(model, chosen) if share_head else None
    captured: list[torch.Tensor] = []
    hook = None
    if head is not None:
        hook = head.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0]))
    try:
        values = logprobs()
    finally:
        if hook is not None:
            hook.remove()
    if values.shape != mask.shape:
        raise ValueError(
            f"logprobs() must return one value per completion token, shape "
            f"{tuple(mask.shape)}, but got {tuple(values.shape)}"
        )
    outputs, grad_outputs = values, list(upstream)
    if len(captured) == 1 and captured[0].requires_grad and captured[0].shape[1] > length:
        hidden = captured[0]  # (n, positions, d); completion tokens at positions -T-1 .. -2
        (per_position,) = torch.autograd.grad(
            values, hidden, torch.ones_like(values), retain_graph=True
        )
        del values  # frees the head's part of the graph (the logits)
        scale = upstream.new_zeros(len(upstream), rows, hidden.shape[1])
        scale[:, :, -length - 1 : -1] = upstream
        outputs = hidden
        grad_outputs = [(per_position * row.unsqueeze(-1)).to(hidden.dtype) for row in scale]
    count = len(grad_outputs)
    return [
        torch.autograd.grad(
            outputs,
            chosen,
            grad_outputs=gradient,
            retain_graph=k < count - 1,
            allow_unused=True,
        )
        for k, gradient in enumerate(grad_outputs)
    ]


def _output_head(
    model: torch.nn.Module, chosen: list[torch.nn.Parameter]
) -> torch.nn.Module | None:
    """The LM head, when none of the chosen parameters is in it (else its input's gradient is
    not enough)."""
    try:
        head = model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    if head is None:
        return None
    chosen_ids = {id(p) for p in chosen}
    return None if any(id(p) in chosen_ids for p in head.parameters()) else head


def _gram_matrix(
    gradients: list[tuple[torch.Tensor | None, ...]], chosen: list[torch.nn.Parameter]
) -> np.ndarray:
    """sum over parameters of (K, numel) @ (K, numel)^T in float64, one parameter at a time."""
    import torch

    count = len(gradients)
    gram = torch.zeros(count, count, dtype=torch.float64, device=chosen[0].device)
    for index, parameter in enumerate(chosen):
        rows = [
            torch.zeros(parameter.numel(), dtype=torch.float64, device=parameter.device)
            if grads[index] is None
            else grads[index].reshape(-1).to(torch.float64)
            for grads in gradients
        ]
        stacked = torch.stack(rows)
        gram += stacked @ stacked.T
    return gram.cpu().numpy()


def _last_block_and_final_norm(model: torch.nn.Module) -> list[torch.nn.Module]:
    import torch

    lists = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0
    ]
    if not lists:
        return []
    name, blocks = max(lists, key=lambda item: sum(p.numel() for p in item[1].parameters()))
    parent = model.get_submodule(name.rpartition(".")[0])
    modules = [blocks[-1]]
    for attribute in FINAL_NORM_NAMES:
        norm = getattr(parent, attribute, None)
        if isinstance(norm, torch.nn.Module):
            modules.append(norm)
            break
    return modules


def _embedding_parameter_ids(model: torch.nn.Module) -> set[int]:
    ids = set()
    for getter in ("get_input_embeddings", "get_output_embeddings"):
        try:
            module = getattr(model, getter)()
        except (AttributeError, NotImplementedError):
            continue
        if module is not None:
            ids.update(id(p) for p in module.parameters())
    return ids
