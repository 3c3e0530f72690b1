"""A short supervised warm start for the smoke model, so that verl's rollouts carry a learning signal.

A random-init model never emits EOS inside the response limit: every response is truncated, the DAPO
overlong penalty gives every sample the same reward, GRPO advantages are 0 and the ASPO update is a no-op.
This trains the tiny model, for each training prompt, on two responses of equal weight, the problem's
correct one and a wrong one (:class:`archer.smoke.problems.Problem`), each followed by EOS. Sampled at
temperature 1 the policy then stops early and is right about half the time: groups with mixed rewards,
which survive ``algorithm.filter_groups`` and give non-zero advantages.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import torch

from archer.smoke.problems import Problem


@dataclass
class WarmStartReport:
    steps: int
    final_loss: float
    sampled_accuracy: float  # fraction of sampled responses the grader accepts (temperature 1)
    mean_response_tokens: float
    seconds: float


def prompt_ids(tokenizer, prompt: str) -> list[int]:
    """Token ids of the chat-templated user turn, as verl's dataset builds the prompt."""
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _batch(tokenizer, problems: list[Problem]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded (input_ids, attention_mask, labels) of every (prompt, correct | wrong) pair."""
    seqs = []
    for p in problems:
        prompt = prompt_ids(tokenizer, p.prompt)
        for response in (p.correct, p.wrong):
            answer = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            seqs.append((prompt + answer, [-100] * len(prompt) + answer))
    width = max(len(ids) for ids, _ in seqs)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([s + [pad] * (width - len(s)) for s, _ in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s, _ in seqs])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in seqs])
    return ids, mask, labels


def train(model, tokenizer, problems: list[Problem], *, steps: int, lr: float, seed: int, log=print) -> float:
    """Full-batch AdamW on the pairs; returns the last loss. Progress every 25 steps through ``log``."""
    torch.manual_seed(seed)
    ids, mask, labels = _batch(tokenizer, problems)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    loss_value = float("nan")
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        loss_value = loss.item()
        if step % 25 == 0 or step == steps:
            log(f"warm start step {step}/{steps}: loss {loss_value:.3f}")
    model.eval()
    return loss_value


@torch.no_grad()
def sampled_accuracy(model, tokenizer, problems: list[Problem], data_source: str, *, samples: int,
                     max_new_tokens: int, seed: int) -> tuple[float, float]:
    """(fraction correct, mean response tokens) of ``samples`` temperature-1 responses per problem, graded
    by archer's own reward."""
    from archer.reward import compute_score

    torch.manual_seed(seed)
    correct, lengths = [], []
    for p in problems:
        prompt = torch.tensor([prompt_ids(tokenizer, p.prompt)])
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=True, temperature=1.0,
                             top_k=0, max_new_tokens=max_new_tokens, num_return_sequences=samples,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
        for row in out[:, prompt.shape[1]:].tolist():
            if tokenizer.eos_token_id in row:
                row = row[: row.index(tokenizer.eos_token_id) + 1]
            lengths.append(len(row))
            text = tokenizer.decode(row, skip_special_tokens=True)
            correct.append(float(compute_score(data_source, text, p.ground_truth)["acc"]))
    return sum(correct) / len(correct), sum(lengths) / len(lengths)


def warm_start(model, tokenizer, problems: list[Problem], data_source: str, *, steps: int, lr: float,
               seed: int, max_new_tokens: int, log=None) -> WarmStartReport:
    log = log or (lambda msg: print(f"[smoke assets] {msg}", file=sys.stderr, flush=True))
    start = time.monotonic()
    loss = train(model, tokenizer, problems, steps=steps, lr=lr, seed=seed, log=log)
    acc, length = sampled_accuracy(model, tokenizer, problems, data_source, samples=4,
                                   max_new_tokens=max_new_tokens, seed=seed)
    log(f"warm start done: sampled accuracy {acc:.2f}, mean response {length:.1f} tokens")
    return WarmStartReport(steps, loss, acc, length, time.monotonic() - start)
