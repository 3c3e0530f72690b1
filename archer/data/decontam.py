"""Decontamination and de-duplication by normalised text.

``normalize_text``: lower-case, every run of non-alphanumeric characters (whitespace, punctuation,
LaTeX symbols) becomes one space. Word n-grams (default n = 13) of every eval problem are indexed. A
training problem overlaps an eval problem when it contains at least ``min_overlap`` of that eval problem's
distinct n-grams (default 0.3; ``0`` means any single shared n-gram). The fraction guards against
boilerplate: answer-format sentences such as "... where m and n are relatively prime positive integers.
Find m+n" are longer than 13 words and shared by hundreds of unrelated AIME-style problems, but cover only a
small part of any one problem. When either text has fewer than n words, the whole normalised texts are
compared instead (so "What is 1+1?" only matches itself).
"""

from __future__ import annotations

import collections
import hashlib
import re

__all__ = ["normalize_text", "text_key", "EvalIndex", "DEFAULT_NGRAM", "DEFAULT_MIN_OVERLAP"]

DEFAULT_NGRAM = 13
DEFAULT_MIN_OVERLAP = 0.3
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_text(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def text_key(text: str) -> bytes:
    """16-byte digest of the normalised text (de-duplication key)."""
    return hashlib.blake2b(normalize_text(text).encode(), digest_size=16).digest()


def _hash(words) -> bytes:
    return hashlib.blake2b(" ".join(words).encode(), digest_size=12).digest()


def _ngrams(words: list[str], n: int) -> set[bytes]:
    return {_hash(words[i : i + n]) for i in range(len(words) - n + 1)}


class EvalIndex:
    """Hashed n-grams and whole texts of eval problems, each mapped to the problems holding it."""

    def __init__(self, n: int = DEFAULT_NGRAM, min_overlap: float = DEFAULT_MIN_OVERLAP):
        if n < 1:
            raise ValueError(f"n-gram size must be >= 1, got {n}")
        if not 0 <= min_overlap <= 1:
            raise ValueError(f"min_overlap must be in [0, 1], got {min_overlap}")
        self.n = n
        self.min_overlap = min_overlap
        self.ngrams: dict[bytes, list[int]] = collections.defaultdict(list)
        self.whole: dict[bytes, set[str]] = collections.defaultdict(set)
        self.owner: list[str] = []  # problem id -> eval set
        self.size: list[int] = []  # problem id -> number of distinct n-grams
        self.problems: collections.Counter[str] = collections.Counter()

    def add(self, eval_name: str, problem: str) -> None:
        words = normalize_text(problem).split()
        if not words:
            return
        self.problems[eval_name] += 1
        self.whole[_hash(words)].add(eval_name)
        grams = _ngrams(words, self.n)
        if grams:
            pid = len(self.owner)
            self.owner.append(eval_name)
            self.size.append(len(grams))
            for g in grams:
                self.ngrams[g].append(pid)

    def matches(self, problem: str) -> set[str]:
        """Eval sets that ``problem`` overlaps (empty set: clean)."""
        words = normalize_text(problem).split()
        if not words:
            return set()
        hit = set(self.whole.get(_hash(words), ()))
        shared: collections.Counter[int] = collections.Counter()
        for g in _ngrams(words, self.n):
            for pid in self.ngrams.get(g, ()):
                shared[pid] += 1
        for pid, count in shared.items():
            if count / self.size[pid] >= self.min_overlap:
                hit.add(self.owner[pid])
        return hit

    def __len__(self) -> int:
        return sum(self.problems.values())
