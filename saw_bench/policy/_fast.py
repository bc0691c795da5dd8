"""saw-bench's own decode loop and training forward for Llama-style causal LMs.

At the embedded scale a step is not arithmetic-bound: Hugging Face ``generate`` spends most of
each new token in Python (logits processors, cache objects, mask building, per-layer module
calls), and a training forward over ``prompt + completion`` recomputes every group's shared
prompt once per completion. :class:`FastLlama` runs the same network as
``LlamaForCausalLM``, on the module's own parameters, with less of both:

* **Decoding** prefills each distinct prompt once and keeps its keys and values once: the
  rows that sample from it attend to them as one batched matmul (its samples are extra
  queries), and to their own tokens in a preallocated (static) cache, under one softmax; rows
  that have ended leave the batch (the cache is compacted when a quarter of its rows are done).
* **Sampling** is pure ancestral sampling from ``softmax(logits / temperature)``. The default
  sampler draws one uniform per row and token and inverts the cumulative distribution (in
  float64); ``sampler="multinomial"`` draws what ``torch.multinomial`` draws inside
  ``generate`` (one ``Exp(1)`` tensor of shape (rows, vocabulary) per token, the token
  ``argmax(probs / noise)``), so that with the same seed it picks ``generate``'s tokens; that
  noise costs most of a decoding step at this size. Either way the draws of every row are made
  whether or not other rows have ended, so a row's sample does not depend on when the others
  stop. Greedy decoding is the argmax of the logits.
* **Training** runs each prompt once (with gradients) and the completions of its group
  against its cached keys and values; completions are bucketed by length, and the output
  layer runs only on tokens that are scored (never on padding).

The maths is LlamaForCausalLM's: RMSNorm in float32, rotary embeddings from the module's own
``inv_freq`` and scaling, softmax attention over the unmasked keys, SiLU-gated MLP, tied or
untied output layer; logits agree with the module's forward up to float rounding (the tests
compare them, and greedy and seeded sampled outputs of ``generate``). :func:`fast_llama`
returns ``None`` for any model this does not cover (another architecture, a rotary scaling
that changes with the sequence, dropout, gradient checkpointing during training), and callers
fall back to ``generate`` and the module's forward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import LlamaForCausalLM

#: Rotary types whose frequencies are fixed at load time (``dynamic`` ones change per call).
STATIC_ROPE_TYPES = ("default", "linear", "llama3", "yarn")
#: Completion buckets of a training forward (rows sorted by length, cut into this many).
TRAIN_BUCKETS = 4
SAMPLERS = ("inverse-cdf", "multinomial")
#: Layers whose shared-input projections hold at most this many weights run them as one
#: matmul over a stacked copy (the tiny policy: 49k); larger ones as separate matmuls.
FUSE_LIMIT = 1 << 22


def fast_llama(model: torch.nn.Module, *, training: bool = False) -> FastLlama | None:
    """A :class:`FastLlama` over ``model``, or ``None`` when the fast path does not cover it."""
    return FastLlama(model) if unsupported_reason(model, training=training) is None else None


def unsupported_reason(model: torch.nn.Module, *, training: bool = False) -> str | None:
    """Why the fast path cannot run ``model`` (``None``: it can)."""
    if type(model) is not LlamaForCausalLM:
        return f"{type(model).__name__} is not LlamaForCausalLM"
    config = model.config
    if config.hidden_act != "silu":
        return f"hidden_act {config.hidden_act!r} (the fast path implements silu)"
    rope = (getattr(config, "rope_parameters", None) or {}).get("rope_type", "default")
    if rope not in STATIC_ROPE_TYPES:
        return f"rope_type {rope!r} changes with the sequence"
    if getattr(config, "pretraining_tp", 1) != 1:
        return "pretraining_tp > 1"
    if training and (_checkpointing(model) or (config.attention_dropout and model.training)):
        return "gradient checkpointing or attention dropout in training"
    return None


def _checkpointing(model: torch.nn.Module) -> bool:
    flag = getattr(model, "is_activation_checkpointing", None)  # transformers >= 5.x name
    if flag is None:
        flag = getattr(model, "is_gradient_checkpointing", False)
    return bool(flag)


class _Projection:
    """Linear maps that share an input: one matmul over their stacked weights when the layer is
    small (the stack is a copy made per call, under autograd during training), else one matmul
    per map with the outputs concatenated (large layers, where copying the weights would cost
    more than the fused matmul saves)."""

    def __init__(self, linears: list[torch.nn.Linear]) -> None:
        if len(linears) == 1:
            self.parts = [(linears[0].weight, linears[0].bias)]
        elif sum(linear.weight.numel() for linear in linears) <= FUSE_LIMIT:
            weight = torch.cat([linear.weight for linear in linears])
            bias = None if linears[0].bias is None else torch.cat([m.bias for m in linears])
            self.parts = [(weight, bias)]
        else:
            self.parts = [(linear.weight, linear.bias) for linear in linears]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.parts) == 1:
            return F.linear(x, *self.parts[0])
        return torch.cat([F.linear(x, weight, bias) for weight, bias in self.parts], dim=-1)


@dataclass(frozen=True)
class _Layer:
    """One decoder layer's weights, the projections that share an input together (each a
    callable ``x -> x W^T + b``; :mod:`saw_bench.policy._stacked` gives stacked ones)."""

    norm_in: torch.Tensor
    qkv: Callable[[torch.Tensor], torch.Tensor]
    out: Callable[[torch.Tensor], torch.Tensor]
    norm_post: torch.Tensor
    gate_up: Callable[[torch.Tensor], torch.Tensor]
    down: Callable[[torch.Tensor], torch.Tensor]


def _keep_rows(cache: torch.Tensor, keep: torch.Tensor, filled: int) -> torch.Tensor:
    """The rows ``keep`` of a (rows, heads, T, D) cache, copying only its ``filled`` slots."""
    kept = cache.new_empty((int(keep.sum()), *cache.shape[1:]))
    kept[:, :, :filled] = cache[:, :, :filled][keep]
    return kept


class FastLlama:
    """The network of a ``LlamaForCausalLM``, run on its own parameters (see the module doc)."""

    def __init__(self, model: LlamaForCausalLM) -> None:
        self.model = model
        config = model.config
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        rotary = model.model.rotary_emb
        self.inv_freq = rotary.inv_freq
        self.rope_scaling = rotary.attention_scaling

    # ------------------------------------------------------------------ pieces
    def _layers(self) -> list[_Layer]:
        """Each layer's weights (see :class:`_Projection`); under autograd when gradients are
        on, so gradients reach the parameters."""
        layers = []
        for layer in self.model.model.layers:
            attention, mlp = layer.self_attn, layer.mlp
            layers.append(
                _Layer(
                    norm_in=layer.input_layernorm.weight,
                    qkv=_Projection([attention.q_proj, attention.k_proj, attention.v_proj]),
                    out=_Projection([attention.o_proj]),
                    norm_post=layer.post_attention_layernorm.weight,
                    gate_up=_Projection([mlp.gate_proj, mlp.up_proj]),
                    down=_Projection([mlp.down_proj]),
                )
            )
        return layers

    def _norm(self, hidden: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """LlamaRMSNorm: in float32 (or float64), back to the input dtype, then scaled (one
        fused op for float32 and float64 models)."""
        if hidden.dtype in (torch.float32, torch.float64):
            return F.rms_norm(hidden, hidden.shape[-1:], weight, self.eps)
        states = F.rms_norm(hidden.float(), hidden.shape[-1:], None, self.eps)
        return weight * states.to(hidden.dtype)

    def _rotary(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        """(cos, sin) of shape (B, 1, L, head_dim) for integer ``positions`` (B, L), computed in
        float32 (float64 for a float64 model)."""
        wide = torch.promote_types(dtype, torch.float32)
        freqs = positions[..., None].to(wide) * self.inv_freq.to(positions.device, wide)
        angles = torch.cat((freqs, freqs), dim=-1)
        cos = (angles.cos() * self.rope_scaling).to(dtype)
        sin = (angles.sin() * self.rope_scaling).to(dtype)
        return cos[:, None], sin[:, None]

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin

    def _block(self, layer: _Layer, hidden, cos, sin, attend):  # type: ignore[no-untyped-def]
        """One decoder layer; ``attend(q, k, v)`` (B, heads, L, D) returns the attention
        output, choosing the keys (a cache, a shared prompt) itself."""
        batch, length = hidden.shape[:2]
        heads, kv_heads, dim = self.heads, self.kv_heads, self.head_dim
        qkv = layer.qkv(self._norm(hidden, layer.norm_in))
        qk, v = qkv.split([(heads + kv_heads) * dim, kv_heads * dim], dim=-1)
        # queries and keys rotated together (one set of ops), then split by head
        qk = self._rotate(qk.view(batch, length, heads + kv_heads, dim).transpose(1, 2), cos, sin)
        q, k = qk.split([heads, kv_heads], dim=1)
        v = v.view(batch, length, kv_heads, dim).transpose(1, 2)
        attended = attend(q, k, v).transpose(1, 2).reshape(batch, length, heads * dim)
        hidden = hidden + layer.out(attended)
        gate, up = layer.gate_up(self._norm(hidden, layer.norm_post)).chunk(2, dim=-1)
        return hidden + layer.down(F.silu(gate) * up)

    def _sdpa(self, q, k, v, mask):  # type: ignore[no-untyped-def]
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, enable_gqa=self.kv_heads != self.heads
        )

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Float32 logits of final-layer states (the final norm is applied here)."""
        normed = self._norm(hidden, self.model.model.norm.weight)
        return self.model.lm_head(normed).float()

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.model.embed_tokens(ids)

    def _prompt_pass(self, layers, prompt_ids, prompt_mask):  # type: ignore[no-untyped-def]
        """Causal pass over left-padded prompts: (last position's states, [(k, v)] per layer,
        prompt lengths)."""
        length = prompt_ids.shape[1]
        positions = (prompt_mask.long().cumsum(-1) - 1).clamp(min=0)
        hidden = self._embed(prompt_ids)
        cos, sin = self._rotary(positions, hidden.dtype)
        causal = torch.ones(length, length, dtype=torch.bool, device=prompt_ids.device).tril()
        # a padding query attends to itself only (its output is never used; no empty row)
        mask = (causal & prompt_mask.bool()[:, None, :]) | torch.eye(
            length, dtype=torch.bool, device=prompt_ids.device
        )
        mask = mask[:, None]
        keys_values = []

        def attend(q, k, v):  # type: ignore[no-untyped-def]
            keys_values.append((k, v))
            return self._sdpa(q, k, v, mask)

        for layer in layers:
            hidden = self._block(layer, hidden, cos, sin, attend)
        return hidden[:, -1], keys_values, prompt_mask.long().sum(-1)

    def causal_states(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Final-layer states (final norm applied), (B, L, hidden), of right-padded (or
        unpadded) sequences: positions 0..L-1, causal attention only. Padding at the end of a
        row changes no state before it, so no padding mask is needed."""
        layers = self._layers()
        length = input_ids.shape[1]
        positions = torch.arange(length, device=input_ids.device)[None]
        hidden = self._embed(input_ids)
        cos, sin = self._rotary(positions, hidden.dtype)

        def attend(q, k, v):  # type: ignore[no-untyped-def]
            return F.scaled_dot_product_attention(
                q, k, v, is_causal=True, enable_gqa=self.kv_heads != self.heads
            )

        for layer in layers:
            hidden = self._block(layer, hidden, cos, sin, attend)
        return self._norm(hidden, self.model.model.norm.weight)

    # ------------------------------------------------------------------ decoding
    @torch.no_grad()
    def sample(
        self,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        *,
        num_samples: int,
        max_new_tokens: int,
        temperature: float,
        eos_id: int,
        pad_id: int,
        sampler: str = "inverse-cdf",
    ) -> torch.Tensor:
        """(prompts * num_samples, T) completion ids, rows of one prompt contiguous: each row
        up to and including its first EOS, ``pad_id`` after it; ``T`` is the longest row
        (at most ``max_new_tokens``). Draws from the device's global RNG (seed it outside).

        ``sampler`` (``temperature > 0``): ``"inverse-cdf"`` draws one uniform per row and
        token; ``"multinomial"`` draws the (rows, vocabulary) ``Exp(1)`` noise of
        ``torch.multinomial``, so that it picks the tokens ``generate`` picks under the same
        seed (slower: that noise is most of a decoding step here)."""
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, but got {sampler!r}")
        device = prompt_ids.device
        layers = self._layers()
        last, keys_values, lengths = self._prompt_pass(layers, prompt_ids, prompt_mask)
        prompts, prompt_length = prompt_ids.shape
        rows = prompts * num_samples
        # additive mask of the shared prompt keys: 0 on tokens, -inf on left padding
        dtype = last.dtype
        prompt_bias = torch.zeros(prompts, 1, 1, prompt_length, dtype=dtype, device=device)
        prompt_bias.masked_fill_(~prompt_mask.bool()[:, None, None, :], float("-inf"))
        caches = [
            (
                k.new_empty(rows, self.kv_heads, max_new_tokens, self.head_dim),
                v.new_empty(rows, self.kv_heads, max_new_tokens, self.head_dim),
            )
            for k, v in keys_values
        ]
        lengths = lengths.repeat_interleave(num_samples)
        logits = self._logits(last).repeat_interleave(num_samples, dim=0)
        # read every step: laid out once as the matmuls want them (keys transposed)
        keys_values = [(k.transpose(-1, -2).contiguous(), v.contiguous()) for k, v in keys_values]
        shared = _SharedPrefix(rows, num_samples, self.heads, self.kv_heads, prompt_bias)

        output = torch.full((rows, max_new_tokens), pad_id, dtype=torch.long, device=device)
        finished = torch.zeros(rows, dtype=torch.bool, device=device)
        live = torch.arange(rows, device=device)  # the batch row of each cache row
        produced = 0
        for t in range(max_new_tokens):
            tokens = self._choose(logits, temperature, sampler, rows, live)
            tokens = torch.where(finished[live], pad_id, tokens)
            output[live, t] = tokens
            finished[live] |= tokens == eos_id
            produced = t + 1
            if t + 1 == max_new_tokens or bool(finished.all()):
                break
            keep = self._rows_to_keep(~finished[live])
            done = len(live) - int(keep.sum())
            if done and done * 4 >= len(live):  # compact: ended rows leave the cache
                live, tokens, lengths = live[keep], tokens[keep], lengths[keep]
                caches = [(_keep_rows(k, keep, t), _keep_rows(v, keep, t)) for k, v in caches]
                shared.live = live
            hidden = self._embed(tokens[:, None])
            cos, sin = self._rotary((lengths + t)[:, None], hidden.dtype)
            for layer, (prompt_k, prompt_v), (cache_k, cache_v) in zip(
                layers, keys_values, caches, strict=True
            ):

                def attend(q, k, v, pk=prompt_k, pv=prompt_v, ck=cache_k, cv=cache_v, t=t):  # type: ignore[no-untyped-def]
                    ck[:, :, t] = k[:, :, 0]
                    cv[:, :, t] = v[:, :, 0]
                    return shared.attend(q, pk, pv, ck[:, :, : t + 1], cv[:, :, : t + 1])

                hidden = self._block(layer, hidden, cos, sin, attend)
            logits = self._logits(hidden[:, 0])
        return output[:, :produced]

    def _rows_to_keep(self, still: torch.Tensor) -> torch.Tensor:
        """Which cache rows stay when the cache is compacted: those still decoding."""
        return still

    def _noise(self, rows: int, vocabulary: int | None, device: torch.device) -> torch.Tensor:
        """One step's draws of all ``rows`` from the global RNG: (rows, 1) float64 uniforms
        (``vocabulary`` None), else ``torch.multinomial``'s (rows, vocabulary) ``Exp(1)``."""
        if vocabulary is None:
            return torch.rand((rows, 1), dtype=torch.float64, device=device)
        return torch.empty((rows, vocabulary), device=device).exponential_(1)

    def _choose(
        self,
        logits: torch.Tensor,
        temperature: float,
        sampler: str,
        rows: int,
        live: torch.Tensor,
    ) -> torch.Tensor:
        """Greedy (``temperature == 0``) or sampled tokens of the cache rows ``live``, from
        ``softmax(logits / temperature)``; the noise is drawn for all ``rows``, live or not, so
        that a row's draws do not depend on when others end."""
        if temperature == 0:
            return logits.argmax(dim=-1)
        scores = logits if temperature == 1.0 else logits / temperature
        probs = torch.softmax(scores, dim=-1)
        if sampler == "multinomial":  # what torch.multinomial(probs, 1) computes
            noise = self._noise(rows, probs.shape[-1], probs.device).to(probs.dtype)
            return (probs / (noise if len(live) == rows else noise[live])).argmax(dim=-1)
        uniform = self._noise(rows, None, probs.device)
        if len(live) < rows:
            uniform = uniform[live]
        cumulative = probs.double().cumsum(dim=-1)
        chosen = torch.searchsorted(cumulative, uniform * cumulative[:, -1:], right=True)
        return chosen[:, 0].clamp_(max=probs.shape[-1] - 1)

    # ------------------------------------------------------------------ training
    def completion_logprobs(
        self,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        prompt_index: torch.Tensor,
        completion_ids: torch.Tensor,
        completion_mask: torch.Tensor,
        temperature: float = 1.0,
        buckets: int = TRAIN_BUCKETS,
    ) -> torch.Tensor:
        """log pi(token) under ``softmax(logits / temperature)`` of every completion token,
        (rows, T), 0 where ``completion_mask`` is 0; differentiable in the model's parameters.

        ``prompt_ids``/``prompt_mask`` (U, P) are the distinct left-padded prompts, row ``r``
        of the completions answers ``prompt_index[r]``."""
        rows, width = completion_ids.shape
        device = completion_ids.device
        layers = self._layers()
        last, keys_values, lengths = self._prompt_pass(layers, prompt_ids, prompt_mask)
        prompt_valid = prompt_mask.bool()
        valid = completion_mask.bool()
        sizes = valid.sum(dim=1)
        pieces, positions = [], []
        for bucket in self._buckets(sizes, buckets):
            if len(bucket) == 0:
                continue
            longest = int(sizes[bucket].max())
            if longest == 0:
                continue
            owners = prompt_index[bucket]
            # index_select, not [owners]: its backward is index_add, not a serial index_put
            states = last.index_select(0, owners)[:, None]  # predicts token 0
            if longest > 1:
                inputs = completion_ids[bucket, : longest - 1]
                hidden = self._embed(inputs)
                steps = torch.arange(longest - 1, device=device)
                cos, sin = self._rotary(lengths[owners][:, None] + steps, hidden.dtype)
                # inputs 0..longest-2 predict tokens 1..longest-1
                causal = torch.ones(
                    longest - 1, longest - 1, dtype=torch.bool, device=device
                ).tril()
                mask = torch.cat(
                    [
                        prompt_valid[owners][:, None, :].expand(-1, longest - 1, -1),
                        causal.expand(len(bucket), -1, -1),
                    ],
                    dim=-1,
                )[:, None]
                for layer, (prompt_k, prompt_v) in zip(layers, keys_values, strict=True):

                    def attend(q, k, v, pk=prompt_k, pv=prompt_v, owners=owners, mask=mask):  # type: ignore[no-untyped-def]
                        keys = torch.cat([pk.index_select(0, owners), k], dim=2)
                        values = torch.cat([pv.index_select(0, owners), v], dim=2)
                        return self._sdpa(q, keys, values, mask)

                    hidden = self._block(layer, hidden, cos, sin, attend)
                states = torch.cat([states, hidden], dim=1)
            scored = valid[bucket, :longest]
            targets = completion_ids[bucket, :longest]
            pieces.append(self._scored_logprobs(states, scored, targets, temperature))
            where = scored.nonzero()
            positions.append((bucket[where[:, 0]], where[:, 1]))
        result = completion_ids.new_zeros((rows, width), dtype=torch.float32)
        if not pieces:
            return result
        row_index = torch.cat([p[0] for p in positions])
        column_index = torch.cat([p[1] for p in positions])
        return result.index_put((row_index, column_index), torch.cat(pieces))

    def _buckets(self, sizes: torch.Tensor, buckets: int) -> list[torch.Tensor]:
        """Rows sorted by completion length (longest first), cut into ``buckets``."""
        order = torch.argsort(sizes, descending=True, stable=True)
        return list(torch.tensor_split(order, min(buckets, len(sizes))))

    def _scored_logprobs(
        self, states: torch.Tensor, scored: torch.Tensor, targets: torch.Tensor, temperature: float
    ) -> torch.Tensor:
        """log pi(target) at the positions ``scored`` of ``states`` (rows, L, hidden), in
        row-major order; only scored positions reach the output layer."""
        logits = self._logits(states[scored])
        if temperature != 1.0:
            logits = logits / temperature
        picked = logits.gather(-1, targets[scored][:, None]).squeeze(-1)
        return picked - torch.logsumexp(logits, dim=-1)


class _SharedPrefix:
    """Decoding attention over a prompt shared by ``samples`` contiguous rows, plus each row's
    own generated tokens: the prompt's keys and values are read once per prompt (as
    ``samples x heads`` queries), not once per row, and one softmax spans both parts."""

    def __init__(
        self, rows: int, samples: int, heads: int, kv_heads: int, prompt_bias: torch.Tensor
    ) -> None:
        self.rows, self.samples = rows, samples
        self.heads, self.kv_heads = heads, kv_heads
        self.prompt_bias = prompt_bias  # (U, 1, 1, P)
        self.live: torch.Tensor | None = None  # cache rows -> batch rows, once compacted

    def _to_prompts(self, per_row: torch.Tensor) -> torch.Tensor:
        """(live rows, heads, X) -> (U, kv_heads, samples * group, X), ended rows zero."""
        if self.live is not None:
            full = per_row.new_zeros((self.rows, *per_row.shape[1:]))
            full[self.live] = per_row
            per_row = full
        prompts = self.rows // self.samples
        group = self.heads // self.kv_heads
        return (
            per_row.view(prompts, self.samples, self.kv_heads, group, -1)
            .transpose(1, 2)
            .reshape(prompts, self.kv_heads, self.samples * group, -1)
        )

    def _to_rows(self, per_prompt: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`_to_prompts`, keeping the live rows."""
        prompts = self.rows // self.samples
        group = self.heads // self.kv_heads
        rows = (
            per_prompt.view(prompts, self.kv_heads, self.samples, group, -1)
            .transpose(1, 2)
            .reshape(self.rows, self.heads, -1)
        )
        return rows if self.live is None else rows[self.live]

    def attend(self, q, prompt_k, prompt_v, own_k, own_v):  # type: ignore[no-untyped-def]
        """q (A, heads, 1, D); prompt_k (U, kv_heads, D, P) (transposed), prompt_v
        (U, kv_heads, P, D); own_k/v (A, kv_heads, t, D)."""
        live_rows, _, _, dim = q.shape
        group = self.heads // self.kv_heads
        prompt_length = prompt_k.shape[3]
        q = q[:, :, 0] * dim**-0.5  # (A, heads, D)
        scores_prompt = self._to_rows(
            torch.matmul(self._to_prompts(q), prompt_k) + self.prompt_bias
        )  # (A, heads, P)
        scores_own = torch.matmul(
            q.view(live_rows, self.kv_heads, group, dim), own_k.transpose(-1, -2)
        ).view(live_rows, self.heads, -1)
        weights = torch.softmax(torch.cat([scores_prompt, scores_own], dim=-1).float(), dim=-1)
        weights = weights.to(q.dtype)
        on_prompt, on_own = weights.split([prompt_length, weights.shape[-1] - prompt_length], -1)
        out = self._to_rows(torch.matmul(self._to_prompts(on_prompt), prompt_v))
        out = out + torch.matmul(on_own.view(live_rows, self.kv_heads, group, -1), own_v).view(
            live_rows, self.heads, dim
        )
        return out[:, :, None]
