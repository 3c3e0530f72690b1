"""Response diagnostics logged next to the reward (cheap, pure Python)."""

from __future__ import annotations

NGRAM = 20


def repetition_ratio(text: str, n: int = NGRAM) -> float:
    """Fraction of the whitespace-token ``n``-grams of ``text`` that already occurred earlier in it.

    Tokens are lower-cased and split on whitespace, as Archer2.0 logs it (``token/repetition_ratio``).
    0.0 for texts shorter than ``n`` tokens; close to 1.0 for a response stuck in a loop.
    """
    if not text:
        return 0.0
    words = text.lower().split()
    total = len(words) - n + 1
    if total <= 0:
        return 0.0
    # Every n-gram occurrence after the first of its kind is a repeat: repeats = total - distinct.
    distinct = len(set(zip(*(words[i:] for i in range(n)))))
    return (total - distinct) / total
