"""Per-token log-probabilities of completions under a causal language model.

The policy-gradient loss of GRPO (Shao et al., 2024, "DeepSeekMath", arXiv 2402.03300) and the
Gramian of per-objective gradients both start from log pi(token) of each completion token under
``softmax(logits / temperature)``. This is the module's own forward; the trainer's fast path
(:meth:`saw_bench.policy.FastLlama.completion_logprobs`) gives the same values for the models it
covers.
"""

from __future__ import annotations

import inspect

import torch


def completion_logprobs(
    model: torch.nn.Module,
    sequences: torch.Tensor,
    attention: torch.Tensor,
    completion_length: int,
    temperature: float = 1.0,
) -> torch.Tensor:
    """log pi(token) of the last ``completion_length`` tokens, (rows, completion_length).

    Position ids follow the attention mask, as in generation with left padding. Models whose
    forward takes ``logits_to_keep`` (Hugging Face causal LMs) apply the LM head to the
    completion positions only; the values are those of the full logits."""
    positions = (attention.long().cumsum(-1) - 1).clamp(min=0)
    inputs = {"input_ids": sequences, "attention_mask": attention, "position_ids": positions}
    if _takes_logits_to_keep(model):
        inputs["logits_to_keep"] = completion_length + 1
    logits = model(**inputs).logits
    logits = logits[:, -completion_length - 1 : -1].float() / temperature
    targets = sequences[:, -completion_length:]
    return torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def _takes_logits_to_keep(model: torch.nn.Module) -> bool:
    try:
        return "logits_to_keep" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
