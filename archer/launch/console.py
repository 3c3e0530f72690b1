"""What a training run shows on the console, and the full log beside it.

    python -m archer.launch.main ... 2>&1 | python -m archer.launch.console --log CKPT_DIR/train.log

Every line of the trainer (verl, Ray, its workers) is appended to ``--log`` with ANSI colour codes removed.
The console gets only:

* archer's own lines (``archer...:`` and ``[smoke ...]`` / ``[run_aspo_...]`` prefixes);
* one line per training step with the few metrics that matter (:data:`STEP_METRICS`), from verl's console
  logger line ``step:N - key:value - ...`` (thousands of characters; it stays whole in the log);
* each warning once (repeats, e.g. from every Ray worker, are counted in the closing line), except the
  ones in :data:`LOG_ONLY` (expected on this setup, or contradicted by archer);
* verl's "Resuming from ..." / "Training from scratch";
* errors: the last lines of each traceback (where the error is named), each distinct error once;
* a closing line saying how many lines went to the log only.

When the trainer reports a Ctrl-C (``archer.launch.main`` prints :data:`INTERRUPT_MARK`), this prints
"interrupted at step N; rerun the same command to resume" and exits 130; SIGINT itself is ignored here
so that the trainer's last lines still reach the log. ``ARCHER_CONSOLE=full`` shows every line.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from pathlib import Path

# printed by archer.launch.main when training stops on KeyboardInterrupt
INTERRUPT_MARK = "archer.launch: interrupted"

# (label, verl metric key) of the per-step console line; absent keys are left out
STEP_METRICS = (
    ("score", "critic/score/mean"),
    ("acc", "reward/acc/mean"),
    ("pg_loss", "actor/pg_loss"),
    ("entropy", "actor/entropy"),
    ("clipfrac", "actor/pg_clipfrac"),
    ("grad_norm", "actor/grad_norm"),
    ("resp_len", "response_length/mean"),
    ("s", "timing_s/step"),
)

# warnings that go to the log only: (pattern, why)
LOG_ONLY = (
    (re.compile(r"engine is not available"), "verl's optional engines (torchtitan, veomni, megatron, ...) not installed"),
    (re.compile(r"filter_groups\.max_num_gen_batches=\S+ is ignored"),
     "archer enforces max_num_gen_batches itself (archer.plugin.filter_groups_guard)"),
    (re.compile(r"target_num_threads \d+ should not exceed"), "TransferQueue sizes its threads to the CPU cores"),
    (re.compile(r"Disabled critic as algorithm\.adv_estimator != gae"), "GRPO has no critic"),
    (re.compile(r"Token authentication is enabled for this Ray cluster"), "Ray's local cluster"),
    (re.compile(r"Failed to set NUMA affinity"), "no libnuma on this host"),
    (re.compile(r"'set_vital' is deprecated"), "torchdata's deprecation notice for verl's dataloader"),
    (re.compile(r"Pydantic serializer warnings"), "verl's agent loop hands reward_score over as a tensor"),
)
# the note written into the log under verl's max_num_gen_batches warning
GEN_BATCHES_NOTE = ("archer: note: the warning above does not apply: archer.plugin.filter_groups_guard enforces "
                    "algorithm.filter_groups.max_num_gen_batches (a step that needs more generation batches stops "
                    "with an error)")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RAY_PREFIX = re.compile(r"^\((?:[A-Za-z0-9_.]+ )?pid=\d+(?:, ip=[0-9.]+)?\)\s?")
_STEP = re.compile(r"^step:(\d+) - ")
_OWN = re.compile(r"^(archer(\.[a-z_.]+)?: |\[smoke[^\]]*\] |\[run_(aspo|grpo)_[a-z]+\] )")
_WARNING = re.compile(r"warning", re.IGNORECASE)
# the last line of a traceback: [module.path.]ClassName[(Cause)]: message (Ray: RayTaskError(ValueError): ...)
_EXCEPTION = re.compile(r"^(?:[a-z_]\w*\.)*[A-Z][a-z]\w*(?:\([\w.]+\))?(?:: |$)")
# an error line outside a traceback (e.g. a worker's "ValueError: ..."): the class name says it is one
_ERROR_LINE = re.compile(r"^(?:[a-z_]\w*\.)*[A-Z]\w*(?:Error|Exception)(?:\([\w.]+\))?(?:: |$)")
_TRACEBACK_MORE = re.compile(r"^(\s|Traceback |The above exception|During handling of|$)")
# verl's lines that say where training starts: shown
_RESUME = re.compile(r"Resuming from |Training from scratch")
_NOISE = re.compile(r"\d{4}-\d{2}-\d{2}[ T][\d:,.]+|pid=\d+|0x[0-9a-f]+")
_MAX_TRACEBACK_LINES = 20


def strip_ansi(line: str) -> str:
    return _ANSI.sub("", line)


def step_line(line: str, total: int | None = None) -> str | None:
    """``step:N - k:v - ...`` (verl's console logger) -> ``step N/T: score 0.375, ...``; None otherwise."""
    match = _STEP.match(line)
    if not match:
        return None
    values: dict[str, str] = {}
    for part in line[match.end():].split(" - "):
        key, sep, value = part.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    shown = []
    for label, key in STEP_METRICS:
        if key in values:
            try:
                number = float(values[key])
            except ValueError:
                continue
            text = f"{number:.1f}" if label in ("s", "resp_len") else f"{number:.4g}"
            shown.append(f"{text} s" if label == "s" else f"{label} {text}")
    of = f"/{total}" if total else ""
    return f"step {match.group(1)}{of}: " + ", ".join(shown)


def log_only_reason(text: str) -> str | None:
    for pattern, why in LOG_ONLY:
        if pattern.search(text):
            return why
    return None


class Console:
    """Sorts the trainer's lines into console and log (see the module docstring)."""

    def __init__(self, log, out, *, total_steps: int | None = None, full: bool = False):
        self.log, self.out, self.total, self.full = log, out, total_steps, full
        self.seen_warnings: set[str] = set()
        self.seen_errors: set[str] = set()
        self.repeats = 0
        self.log_only = 0
        self.last_step: int | None = None
        self.interrupted = False
        self.interrupt_text = ""
        self._traceback: list[str] | None = None
        self._after_warning = False

    def show(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def feed(self, raw: str) -> None:
        line = strip_ansi(raw.rstrip("\n")).replace("\r", "")
        self.log.write(line + "\n")
        text = _RAY_PREFIX.sub("", line)
        if log_only_reason(text) and "max_num_gen_batches" in text:
            self.log.write(GEN_BATCHES_NOTE + "\n")
        self.log.flush()
        if self.full:
            self.show(line)
            return
        self._sort(text)

    def _sort(self, text: str) -> None:
        after_warning, self._after_warning = self._after_warning, False
        if self._traceback is not None:
            if _TRACEBACK_MORE.match(text) or _EXCEPTION.match(text):
                self._traceback.append(text)
                return
            self._end_traceback()  # and this line is sorted as any other
        if text.startswith("Traceback (most recent call last)"):
            self._traceback = [text]
            return
        match = _STEP.match(text)
        if match:
            self.last_step = int(match.group(1))
            self.show(step_line(text, self.total))
            return
        if text.startswith(INTERRUPT_MARK):
            self.interrupted = True
            self.interrupt_text = text
            return
        if _OWN.match(text):
            self.show(text)
            return
        resume = _RESUME.search(text)
        if resume:
            self.show("verl: " + text[resume.start():])
            return
        if after_warning and text.startswith("  "):  # the source line python's warnings module prints
            self.log_only += 1
            return
        if _WARNING.search(text) or _ERROR_LINE.match(text):
            self._after_warning = True
            if log_only_reason(text):
                self.log_only += 1
                return
            key = _NOISE.sub("", text).strip()
            if key in self.seen_warnings:
                self.repeats += 1
                return
            self.seen_warnings.add(key)
            self.show(text)
            return
        self.log_only += 1

    def _end_traceback(self) -> None:
        """A traceback: its last lines (where the error is named) once per distinct error."""
        block, self._traceback = self._traceback or [], None
        while block and not block[-1].strip():
            block.pop()
        last = block[-1] if block else ""
        key = _NOISE.sub("", last)
        if key in self.seen_errors or "KeyboardInterrupt" in last:  # a repeat, or Ctrl-C (said at the end)
            self.repeats += len(block)
            return
        self.seen_errors.add(key)
        tail = block[-_MAX_TRACEBACK_LINES:]
        if len(block) > len(tail):
            self.show(f"{block[0]} ({len(block) - len(tail)} lines left out here, all in the log)")
        for text in tail:
            self.show(text)

    def close(self, log_path: Path | None, ckpt_dir: Path | None) -> int:
        if self._traceback is not None:
            self._end_traceback()
        if not self.full and (self.log_only or self.repeats):
            where = f" in {log_path}" if log_path else " in the log"
            repeats = f" and {self.repeats} repeated warning lines" if self.repeats else ""
            self.show(f"archer.launch: {self.log_only} more lines of verl / Ray output{repeats}{where}")
        if self.interrupted:
            self.show(interrupt_message(self.last_step, ckpt_dir, self.interrupt_text))
            return 130
        return 0


def latest_checkpoint(ckpt_dir: Path | None) -> int | None:
    """The step of verl's ``latest_checkpointed_iteration.txt`` in ``ckpt_dir``, if any."""
    from archer.rundir import marked_step

    return marked_step(ckpt_dir)


def interrupt_message(last_step: int | None, ckpt_dir: Path | None, trainer_text: str = "") -> str:
    at = f" at step {last_step + 1}" if last_step is not None else ""
    saved = latest_checkpoint(ckpt_dir)
    if "resume_mode=disable" in trainer_text:
        return f"{INTERRUPT_MARK}{at}; trainer.resume_mode=disable, so a rerun starts again from step 1"
    where = (f" from global_step_{saved}, the last checkpoint" if saved is not None
             else " (no checkpoint was saved yet: it starts from step 1)")
    return f"{INTERRUPT_MARK}{at}; rerun the same command to resume{where}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m archer.launch.console", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--log", required=True, type=Path, help="full log (appended; ANSI codes removed)")
    p.add_argument("--steps", type=int, default=None, help="total training steps, for 'step N/T'")
    p.add_argument("--ckpt-dir", type=Path, default=None, help="run dir, for the step a Ctrl-C resumes from")
    args = p.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the trainer handles Ctrl-C; its last lines must still be read
    args.log.parent.mkdir(parents=True, exist_ok=True)
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", newline="\n", closefd=False)
    with open(args.log, "a", encoding="utf-8") as log:
        console = Console(log, sys.stdout, total_steps=args.steps, full=os.environ.get("ARCHER_CONSOLE") == "full")
        for raw in stdin:
            console.feed(raw)
        return console.close(args.log, args.ckpt_dir)


if __name__ == "__main__":
    sys.exit(main())
