"""Keep the evaluated fixed prefixes of the prompts in use, so switching prompts does not re-read them.

llama.cpp holds ONE KV cache and reuses only the longest common token prefix with the previous prompt. A
follow-up question makes two calls, condense then answer, whose prompts share almost nothing, so each call
evicts the other's fixed part (system message and worked examples: hundreds of tokens, several seconds on
a 2-core CPU). ``PrefixCache`` saves the llama.cpp state right after each prompt's fixed prefix (the
formatted chat up to the start of the last message's text) and starts every prompt from it: the fixed part
is read once, and the rest is always read in the same batches (see ``prepare``).

A saved state is the KV cache of its tokens only (about 28 KB per token for the 1.5B model), not the
logits matrix that ``Llama.save_state`` also copies (up to 311 MB for this vocabulary), so a few prefixes
cost a few tens of MB. Restoring is a memory copy of milliseconds. Correctness does not depend on this
module's token arithmetic: ``Llama.generate`` itself compares the restored tokens with the prompt and
evaluates whatever differs.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MIN_PREFIX_TOKENS = 32  # shorter fixed prefixes are cheaper to evaluate than to manage


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class SavedPrefix:
    tokens: tuple[int, ...]
    state: bytes


@dataclass(frozen=True)
class PrefixUse:
    """What the cache did for one prompt (for tests and benchmarks)."""

    prompt_tokens: int
    prefix_tokens: int
    reused_tokens: int  # tokens already in the KV cache when generation starts
    restored: bool  # a saved prefix was loaded
    saved: bool  # this prompt's prefix was saved


class PrefixCache:
    """An LRU of saved llama.cpp states, one per fixed prompt prefix, bounded in count and bytes."""

    def __init__(self, max_entries: int = 4, max_bytes: int = 128 << 20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, ...], SavedPrefix] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return sum(len(e.state) for e in self._entries.values())

    def clear(self) -> None:
        self._entries.clear()

    def prepare(self, llama: Any, tokens: Sequence[int], prefix_len: int) -> PrefixUse:
        """Before generating ``tokens``: start from this prompt's saved prefix, or compute and save it.

        Leaves the llama's KV cache holding exactly the fixed prefix, which ``Llama.generate`` reuses; the
        rest of the prompt is always read afresh. llama.cpp's numbers depend on how a prompt is split into
        batches, so reusing a longer stretch (the same question again, the same passage [1] as the last
        question) changed the model's words at temperature 0: asked twice in a row, 5 of the first 29
        questions of the question set got a different second answer. With the split always at the end of
        the fixed prefix, and the prefix always computed alone from the start, the same prompt gets the same
        answer whatever came before it.
        """
        live = common_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
        key = tuple(tokens[:prefix_len])
        restored = saved = False
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            if live < prefix_len:
                self._restore(llama, entry)
                restored = True
            llama.n_tokens = live = prefix_len  # nothing past the fixed prefix is reused
        elif MIN_PREFIX_TOKENS <= prefix_len < len(tokens):
            llama.n_tokens = 0  # eval() clears the KV cells past n_tokens: the prefix is computed alone
            llama.eval(list(key))
            if llama.n_tokens == prefix_len and llama.input_ids[:prefix_len].tolist() == list(key):
                self._add(SavedPrefix(key, _state_bytes(llama)))  # the state holds exactly these tokens
                saved = True
            live = common_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
        return PrefixUse(len(tokens), prefix_len, live, restored, saved)

    def _add(self, entry: SavedPrefix) -> None:
        self._entries[entry.tokens] = entry
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_entries or self.nbytes > self.max_bytes
        ):
            self._entries.popitem(last=False)  # least recently used first; the newest stays

    @staticmethod
    def _restore(llama: Any, entry: SavedPrefix) -> None:
        import llama_cpp

        size = len(entry.state)
        buffer = (ctypes.c_uint8 * size).from_buffer_copy(entry.state)
        if llama_cpp.llama_state_set_data(llama._ctx.ctx, buffer, size) != size:
            raise RuntimeError("llama.cpp refused a saved prompt state")
        n = len(entry.tokens)
        llama.input_ids[:n] = entry.tokens
        llama.n_tokens = n
        llama._requires_eval = True  # logits come from the next decode, never from the restored state


def _state_bytes(llama: Any) -> bytes:
    import llama_cpp

    ctx = llama._ctx.ctx
    size = llama_cpp.llama_state_get_size(ctx)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_get_data(ctx, buffer, size)
    if written > size:
        raise RuntimeError("llama.cpp wrote more state than it announced")
    return ctypes.string_at(buffer, written)
