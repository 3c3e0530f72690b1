"""The training console shows archer's lines and one short line per step; verl's config dump, Ray's worker
chatter and warnings that are expected here stay in train.log, which holds every line without ANSI codes.
A warning repeated by every Ray worker is shown once (archer.launch.console)."""

from __future__ import annotations

import io

from archer.launch.console import Console, step_line

ESC = "\x1b[36m"
STEP_1 = ("step:1 - training/filter_groups/kept_groups:2.0 - actor/entropy:0.2427 - actor/pg_clipfrac:0.0 - "
          "actor/pg_loss:-0.0862 - actor/grad_norm:1.2686 - critic/score/mean:0.375 - response_length/mean:10.625 - "
          "timing_s/step:17.986 - reward/acc/mean:0.375 - " + " - ".join(f"x/k{i}:{i}.0" for i in range(300)))


def trainer_output() -> list[str]:
    lines = ["[run_aspo_math] smoke training: 2 step(s) on CPU"]
    lines += [f"{ESC}(TaskRunnerV1 pid=5663)\x1b[0m                 'key_{i}': {i}," for i in range(900)]
    for pid in range(40, 60):
        lines.append(f"{ESC}(WorkerDict pid={pid})\x1b[0m WARNING:2026-12-02 16:16:40,263:target_num_threads 8 should "
                     "not exceed total physical CPU cores 2. Setting to 2.")
        lines.append(f"{ESC}(WorkerDict pid={pid})\x1b[0m .../verl/workers/engine/__init__.py:32: UserWarning: "
                     "torchtitan engine is not available: ModuleNotFoundError(\"No module named 'torchtitan'\")")
        lines.append(f"{ESC}(WorkerDict pid={pid})\x1b[0m   warnings.warn(f\"torchtitan engine is not available\")")
        lines.append(f"{ESC}(WorkerDict pid={pid})\x1b[0m some.py:3: UserWarning: a thing worth saying once")
    lines.append("(TaskRunnerV1 pid=5663) WARNING:2026-12-02 16:16:40,263:algorithm.filter_groups.max_num_gen_batches=10 "
                 "is ignored by the built-in V1 ReplayBuffer; use max_inflight_gen_batches to bound concurrent Sync DAPO")
    lines.append(f"{ESC}(TaskRunnerV1 pid=5663)\x1b[0m {STEP_1}")
    lines.append(f"{ESC}(TaskRunnerV1 pid=5663)\x1b[0m archer.reward: warning: 1 response had no answer")
    return lines


def run(lines: list[str], **kwargs) -> tuple[list[str], list[str], int]:
    log, out = io.StringIO(), io.StringIO()
    console = Console(log, out, **kwargs)
    for line in lines:
        console.feed(line + "\n")
    code = console.close(None, None)
    return out.getvalue().splitlines(), log.getvalue().splitlines(), code


def test_console_has_archer_lines_one_line_per_step_and_each_warning_once():
    shown, logged, code = run(trainer_output(), total_steps=2)
    assert code == 0
    assert shown[0] == "[run_aspo_math] smoke training: 2 step(s) on CPU"
    assert [s for s in shown if "worth saying once" in s] == ["some.py:3: UserWarning: a thing worth saying once"]
    assert "step 1/2: score 0.375, acc 0.375, pg_loss -0.0862, entropy 0.2427, clipfrac 0, grad_norm 1.269, " \
           "resp_len 10.6, 18.0 s" in shown
    assert "archer.reward: warning: 1 response had no answer" in shown
    assert not any("target_num_threads" in s or "engine is not available" in s or "key_" in s for s in shown)
    assert len(shown) == 5 and "19 repeated warning lines" in shown[-1]


def test_log_holds_every_line_without_ansi_codes():
    lines = trainer_output()
    _, logged, _ = run(lines)
    assert not any("\x1b" in line for line in logged)
    assert len(logged) == len(lines) + 1  # + the note under verl's max_num_gen_batches warning
    assert STEP_1 in logged[-2]


def test_verl_warning_that_archer_contradicts_is_kept_off_the_console_and_annotated_in_the_log():
    shown, logged, _ = run(trainer_output())
    assert not any("max_num_gen_batches" in s for s in shown)
    i = next(i for i, line in enumerate(logged) if "max_num_gen_batches=10 is ignored" in line)
    assert "archer.plugin.filter_groups_guard enforces" in logged[i + 1]


def test_step_line_keeps_the_few_metrics_and_skips_absent_ones():
    assert step_line("step:3 - actor/pg_loss:0.5 - timing_s/step:2.25 - other:1") == "step 3: pg_loss 0.5, 2.2 s"
    assert step_line("stepping along") is None


def test_full_console_shows_every_line():
    lines = trainer_output()
    shown, _, _ = run(lines, full=True)
    assert len(shown) == len(lines) and not any("\x1b" in s for s in shown)


def test_plain_words_and_class_names_are_not_taken_for_errors():
    shown, _, _ = run(["True", "LLMServerManager: ['archer-smoke-rollout-0']", "Processing: 3 prompts",
                       "ValueError: bad value"])
    assert shown[0] == "ValueError: bad value" and len(shown) == 2
