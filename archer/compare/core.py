"""The comparison itself: read runs and eval outputs, pick one checkpoint per method, write table, figures
and ``COMPARISON.md``. Everything is read and checked before anything is written."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from archer.cli import CliError
from archer.eval.benchmarks import BENCHMARKS, TABLES
from archer.eval.summary import read_summary
from archer import rundir

logger = logging.getLogger(__name__)

SUMMARY = rundir.EVAL_SUMMARY
STEP_DIR = rundir.STEP_DIR
SELECT_LAST = "last"
SELECT_BEST = "best"
SELECT_RULES = (SELECT_LAST, SELECT_BEST)
# the paper's training-dynamics panels, shown first in COMPARISON.md (all panels with data are written)
PAPER_PANELS = ("entropy", "repetition", "clip_upper", "clip_lower", "dual_clip_neg", "dual_clip_pos", "is_ratio")
# config keys that name, place, log, save or schedule a run without changing what it trains: left out of
# COMPARISON.md's "settings that differ" (a key, or a prefix ending in "."). Values that differ only by the
# run's own name or dir (e.g. a path under trainer.default_local_dir) are left out too (config_differences).
CONFIG_NOISE = ("trainer.project_name", "trainer.experiment_name", "trainer.default_local_dir",
                "trainer.validation_data_dir", "trainer.rollout_data_dir", "trainer.logger", "trainer.save_freq",
                "trainer.test_freq", "trainer.val_before_train", "trainer.log_val_generations",
                "trainer.max_actor_ckpt_to_keep", "trainer.max_critic_ckpt_to_keep", "trainer.resume_mode",
                "trainer.resume_from_path", "ray_kwargs.", "hydra.")
MAX_CONFIG_DIFFS = 40


class CompareInputError(CliError, ValueError):
    """Bad input to ``python -m archer.compare``: the message names the option, file or dir at fault (exit 2)."""


@dataclass(frozen=True)
class Checkpoint:
    name: str  # "global_step_300", or the eval dir's name for a single summary
    step: int | None
    path: Path  # the summary.json
    summary: dict


@dataclass
class Method:
    label: str
    run_dir: Path | None = None
    eval_dir: Path | None = None
    checkpoints: list[Checkpoint] = field(default_factory=list)
    selected: Checkpoint | None = None
    reason: str = ""
    run: object | None = None  # archer.plot.runs.Run
    saved_steps: list[int] = field(default_factory=list)  # global_step_* dirs in the run dir
    config_path: Path | None = None
    config: dict | None = None
    eval_loss_mode: str | None = None  # from the eval dir's eval_info.json (archer.eval records it)
    eval_loss_source: str | None = None

    @property
    def loss_mode(self) -> tuple[str | None, str | None]:
        """(policy loss, where it was read): the run's, else what archer.eval recorded for the evaluated model."""
        if self.run is not None:
            return self.run.loss_mode, str(self.run.loss_mode_source)
        return self.eval_loss_mode, self.eval_loss_source

    @property
    def row_label(self) -> str:
        step = self.selected.step if self.selected else None
        return f"{self.label} (ours)" if step is None else f"{self.label} (ours, step {step})"


# ---------------------------------------------------------------------------------------------- parsing


def parse_labelled(items: list[str] | None, option: str) -> dict[str, Path]:
    """``["LABEL=PATH", ...]`` (or a bare PATH: label = its dir name) -> {label: path}; every path must exist."""
    found: dict[str, Path] = {}
    for item in items or []:
        label, sep, text = item.partition("=")
        if not sep or Path(item).exists():
            label, text = "", item
        if not text:
            raise CompareInputError(f"{option} {item!r}: no path after '=' (use {option} LABEL=PATH)")
        path = Path(text)
        label = label.strip() or path.resolve().name
        if not path.exists():
            raise CompareInputError(f"{option} {item!r}: not found: {path}")
        twice = same_label(label, found)
        if twice is not None:
            raise CompareInputError(f"{option}: label {label!r} given twice ({found[twice]} and {path}; labels "
                                    "are case-insensitive)")
        found[label] = path
    return found


def same_label(label: str, labels) -> str | None:
    """The label of ``labels`` that ``label`` names: labels are case-insensitive (ASPO = aspo)."""
    key = label.strip().casefold()
    return next((lab for lab in labels if lab.casefold() == key), None)


def unify_labels(*by_label: dict[str, object]) -> list[dict[str, object]]:
    """The dicts re-keyed so that every spelling of a label becomes its first spelling (in argument order):
    ``--run ASPO=... --eval aspo=...`` is one method, ASPO."""
    spelling: dict[str, str] = {}
    for mapping in by_label:
        for label in mapping:
            spelling.setdefault(label.casefold(), label)
    return [{spelling[label.casefold()]: value for label, value in mapping.items()} for mapping in by_label]


def parse_steps(items: list[str] | None, labels: list[str]) -> dict[str, int]:
    """``--step N`` (every method) and/or ``--step LABEL=N`` -> {label: step}."""
    named: dict[str, int] = {}
    every: int | None = None
    for item in items or []:
        label, sep, text = item.rpartition("=")
        try:
            step = int(text)
        except ValueError:
            raise CompareInputError(f"--step {item!r}: expected N or LABEL=N with an integer step N") from None
        if step < 0:
            raise CompareInputError(f"--step {item!r}: a step is >= 0")
        if not sep:
            every = step
        elif same_label(label, labels) is None:
            raise CompareInputError(f"--step {item!r}: no --eval labelled {label!r} (labels: {', '.join(labels) or 'none'})")
        else:
            named[same_label(label, labels)] = step
    base = {lab: every for lab in labels} if every is not None else {}
    return {**base, **named}  # LABEL=N wins over a bare N


# ---------------------------------------------------------------------------------------------- eval side


def read_checkpoints(eval_dir: Path, label: str) -> list[Checkpoint]:
    """Scored checkpoints of one eval dir in step order: ``global_step_*/summary.json``, else one ``summary.json``."""
    if not eval_dir.is_dir():
        raise CompareInputError(f"--eval {label}={eval_dir}: not a directory (expected archer.eval run --out DIR)")
    found = []
    for child in eval_dir.iterdir():
        match = STEP_DIR.match(child.name)
        if not (match and child.is_dir()):
            continue
        if (child / SUMMARY).is_file():
            found.append(Checkpoint(child.name, int(match.group(1)), child / SUMMARY, read_summary(child / SUMMARY)))
        else:
            logger.warning("--eval %s: %s has no %s (not scored yet?); left out", label, child, SUMMARY)
    if not found and (eval_dir / SUMMARY).is_file():
        name = eval_dir.resolve().name
        match = STEP_DIR.match(name)
        found.append(Checkpoint(name, int(match.group(1)) if match else None, eval_dir / SUMMARY,
                                read_summary(eval_dir / SUMMARY)))
    if not found:
        out = f"eval_out/{label.casefold()}"
        if looks_like_run_dir(eval_dir):  # never suggest writing eval output among the checkpoints
            raise CompareInputError(
                f"--eval {label}={eval_dir}: that is a training run dir (checkpoints), not archer.eval output; "
                f"evaluate it into a dir of its own: python -m archer.eval run --model {eval_dir} --out {out}, "
                f"then pass --run {label}={eval_dir} --eval {label}={out}")
        raise CompareInputError(
            f"--eval {label}={eval_dir}: no {SUMMARY} in it nor in {eval_dir}/global_step_*/ "
            f"(run: python -m archer.eval run --model RUN_DIR --out {out}, then --eval {label}={out})")
    return sorted(found, key=lambda c: (c.step is None, c.step or 0))


def looks_like_run_dir(path: Path) -> bool:
    """A training run dir (or one of its checkpoints): verl's checkpoint marker, a global_step_*/actor, an actor/."""
    path = Path(path)
    return ((path / rundir.LATEST).is_file() or (path / "actor").is_dir()
            or any((c / "actor").is_dir() for c in path.glob("global_step_*")))


def eval_loss_mode(eval_dir: Path) -> tuple[str | None, str | None]:
    """The policy loss archer.eval recorded in ``eval_info.json`` (the eval dir's, else a step dir's)."""
    candidates = [eval_dir / "eval_info.json", *sorted(eval_dir.glob("global_step_*/eval_info.json"))]
    for path in candidates:
        try:
            mode = json.loads(path.read_text(encoding="utf-8")).get("loss_mode")
        except (OSError, ValueError, AttributeError):
            continue
        if mode:
            return str(mode), str(path)
    return None, None


def table_benchmarks() -> list[str]:
    return [name for _, names in TABLES.values() for name in names]


def mean_avg(summary: dict, names: list[str]) -> float:
    return sum(float(summary[n]["avg"]) for n in names) / len(names)


def best_key(checkpoints: list[Checkpoint]) -> list[str]:
    """The benchmarks ``--select best`` averages: the paper-table benchmarks every checkpoint has (else all
    data sources every checkpoint has), so that checkpoints are ranked on the same problems."""
    common = set.intersection(*(set(c.summary) for c in checkpoints))
    names = [n for n in table_benchmarks() if n in common]
    return names or sorted(common)


def select_checkpoint(checkpoints: list[Checkpoint], *, step: int | None = None, rule: str = SELECT_LAST,
                      label: str = "") -> tuple[Checkpoint, str]:
    """(the checkpoint a method's row shows, why, in words)."""
    if step is not None:
        for c in checkpoints:
            if c.step == step:
                return c, f"--step {step}"
        have = ", ".join(str(c.step) for c in checkpoints if c.step is not None) or "none"
        raise CompareInputError(f"--step {step}: --eval {label} has no global_step_{step}/{SUMMARY} (scored steps: {have})")
    if rule == SELECT_LAST:
        return checkpoints[-1], f"last scored checkpoint (of {len(checkpoints)})"
    if rule == SELECT_BEST:
        names = best_key(checkpoints)
        if not names:
            raise CompareInputError(f"--select best: the checkpoints of --eval {label} share no benchmark")
        scores = [mean_avg(c.summary, names) for c in checkpoints]
        i = max(range(len(checkpoints)), key=lambda j: (scores[j], -j))  # ties: the earlier step
        shown = ", ".join(BENCHMARKS[n].label if n in BENCHMARKS else n for n in names)
        return checkpoints[i], (f"best mean avg@n ({scores[i]:.1f}) over {len(checkpoints)} scored checkpoints, "
                                f"on {shown}; selected on the eval sets themselves (optimistic)")
    raise CompareInputError(f"--select {rule!r}: expected one of {', '.join(SELECT_RULES)}")


# ---------------------------------------------------------------------------------------------- run side


def saved_steps(run_dir: Path) -> list[int]:
    if not run_dir.is_dir():
        return []
    return sorted(int(m.group(1)) for c in run_dir.iterdir() if (m := STEP_DIR.match(c.name)) and c.is_dir())


def find_config(run_dir: Path) -> Path | None:
    from archer.plot.runs import CONFIG_CANDIDATES

    folder = run_dir if run_dir.is_dir() else run_dir.parent
    for name in CONFIG_CANDIDATES:
        if (folder / name).is_file():
            return folder / name
    return None


def read_config(path: Path) -> dict:
    import yaml

    try:
        node = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CompareInputError(f"{path}: not a readable YAML config ({exc})") from None
    return node if isinstance(node, dict) else {}


def flatten(node, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        out: dict[str, object] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def config_differences(methods: list[Method]) -> list[tuple[str, list[object]]]:
    """(key, value per method) for every config key whose value differs between the methods with a config."""
    with_config = [m for m in methods if m.config is not None]
    if len(with_config) < 2:
        return []
    flat = [flatten(m.config) for m in with_config]
    keys = sorted(k for k in set().union(*flat) if not is_noise_key(k))
    own = [_own_names(f) for f in flat]
    missing = object()
    diffs = []
    for key in keys:
        values = [f.get(key, missing) for f in flat]
        if any(v != values[0] for v in values[1:]):
            if all(v is not missing for v in values) and len({_without_own(v, o) for v, o in zip(values, own)}) == 1:
                continue  # the same setting, spelled with each run's own name or dir
            diffs.append((key, ["(absent)" if v is missing else v for v in values]))
    return diffs


def is_noise_key(key: str) -> bool:
    return any(key == n or (n.endswith(".") and key.startswith(n)) for n in CONFIG_NOISE)


def _own_names(flat: dict[str, object]) -> list[str]:
    """The strings that name one run: its dir and experiment name (longest first)."""
    names = [flat.get("trainer.default_local_dir"), flat.get("trainer.experiment_name")]
    return sorted({str(n) for n in names if n}, key=len, reverse=True)


def _without_own(value: object, own: list[str]) -> str:
    text = str(value)
    for name in own:
        text = text.replace(name, "<run>")
    return text


# ---------------------------------------------------------------------------------------------- writing


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def compare(
    runs: dict[str, Path],
    evals: dict[str, Path],
    out: Path,
    *,
    steps: dict[str, int] | None = None,
    select: str = SELECT_LAST,
    reference: str | None = None,
    loss_modes: dict[str, str] | None = None,
    panels: list[str] | None = None,
    smooth: int = 1,
    title: str = "",
    dpi: int = 100,
    command: str = "",
) -> dict:
    """Run the comparison; returns the ``comparison.json`` content."""
    from archer.plot.panels import panels_by_key
    from archer.plot.runs import check_labels, load_run_at

    if not runs and not evals:
        raise CompareInputError("nothing to compare: give --run LABEL=RUN_DIR and/or --eval LABEL=EVAL_DIR")
    if select not in SELECT_RULES:
        raise CompareInputError(f"--select {select!r}: expected one of {', '.join(SELECT_RULES)}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CompareInputError(f"--out {out}: exists and is not a directory")
    runs, evals, steps, loss_modes = unify_labels(runs, evals, steps or {}, loss_modes or {})
    labels = list(dict.fromkeys([*runs, *evals]))
    methods = [Method(label, runs.get(label), evals.get(label)) for label in labels]
    panel_list = panels_by_key(panels)

    # read and check everything first
    for m in methods:
        if m.eval_dir is not None:
            m.checkpoints = read_checkpoints(m.eval_dir, m.label)
            m.selected, m.reason = select_checkpoint(m.checkpoints, step=steps.get(m.label), rule=select, label=m.label)
            m.eval_loss_mode, m.eval_loss_source = eval_loss_mode(m.eval_dir)
            logger.info("%s: table row from %s (%s)", m.label, m.selected.path, m.reason)
        else:
            logger.warning("%s: no --eval given; dynamics only, no table row", m.label)
        if m.run_dir is not None:
            m.run = load_run_at(m.run_dir, m.label, loss_modes)
            m.saved_steps = saved_steps(m.run_dir)
            m.config_path = find_config(m.run_dir)
            m.config = read_config(m.config_path) if m.config_path else None
        else:
            logger.warning("%s: no --run given; table row only, no training dynamics", m.label)
    run_methods = [m for m in methods if m.run is not None]
    check_labels([m.run for m in run_methods], loss_modes)
    eval_methods = [m for m in methods if m.selected is not None]
    if run_methods:
        _check_some_panel(panel_list, [m.run for m in run_methods])

    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, object] = {}
    if eval_methods:
        written.update(_write_tables(eval_methods, out, reference=reference, title=title))
        written["eval_figure"] = _write_eval_figure(eval_methods, out, title=title, dpi=dpi)
    if run_methods:
        from archer.plot.figures import write_dynamics

        prefix = f"{title.strip()} — " if title.strip() else ""
        pngs = write_dynamics([m.run for m in run_methods], out / "dynamics", panel_list, smooth=smooth,
                              title_prefix=prefix, dpi=dpi)
        written["dynamics"] = [str(p) for p in pngs]
    manifest = _manifest(methods, out, written, select=select, reference=reference, command=command)
    (out / "comparison.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / "COMPARISON.md").write_text(render_comparison(methods, out, written, manifest), encoding="utf-8")
    return manifest


def _check_some_panel(panels, runs) -> None:
    """Fail before writing anything when no selected panel has data (write_dynamics would fail later)."""
    from archer.plot.panels import run_lines

    if not any(run_lines(panel, run, i)[0] for panel in panels for i, run in enumerate(runs)):
        keys = ", ".join(p.key for p in panels)
        raise CompareInputError(f"no training-dynamics figure possible: no run logged a metric of the panels ({keys})")


def _write_tables(methods: list[Method], out: Path, *, reference: str | None, title: str) -> dict:
    from archer.eval.table import Row, write_tables

    rows = [Row(m.row_label, m.selected.summary) for m in methods]
    heading = title or "Comparison at the selected checkpoints"
    tables = write_tables(rows, out, reference=reference, title=heading)
    every = [Row(f"{m.label} {c.name}", c.summary) for m in methods for c in m.checkpoints]
    all_steps = write_tables(every, out / "all_steps", title="Every scored checkpoint")
    return {"tables": [str(p) for p in tables], "all_steps": [str(p) for p in all_steps]}


def _write_eval_figure(methods: list[Method], out: Path, *, title: str, dpi: int) -> str:
    from archer.plot.eval_figure import read_results, write_eval_figure

    tables = []
    for m in methods:
        table = read_results(str(m.eval_dir))
        table["label"] = m.label
        tables.append(table)
    return str(write_eval_figure(tables, out / "eval.png", title=title, dpi=dpi))


def _manifest(methods: list[Method], out: Path, written: dict, *, select: str, reference: str | None,
              command: str) -> dict:
    entries = []
    for m in methods:
        mode, mode_source = m.loss_mode
        entry = {"label": m.label, "run_dir": str(m.run_dir) if m.run_dir else None,
                 "eval_dir": str(m.eval_dir) if m.eval_dir else None, "loss_mode": mode,
                 "loss_mode_source": mode_source}
        if m.selected is not None:
            entry.update(row=m.row_label, step=m.selected.step, checkpoint=m.selected.name,
                         summary=str(m.selected.path), reason=m.reason,
                         scored_steps=[c.step for c in m.checkpoints])
        if m.run is not None:
            entry.update(log=str(m.run.source), log_format=m.run.fmt, loss_mode=m.run.loss_mode,
                         loss_mode_source=m.run.loss_mode_source,
                         logged_steps=[int(m.run.table["step"].min()), int(m.run.table["step"].max())],
                         saved_checkpoints=m.saved_steps,
                         config=str(m.config_path) if m.config_path else None)
        entries.append(entry)
    steps = {m.label: m.selected.step for m in methods if m.selected is not None}
    return {"command": command, "select": select, "reference": reference, "methods": entries,
            "same_step": len(set(steps.values())) <= 1, "written": written}


def _differs_note(methods: list[Method]) -> str | None:
    steps = {m.label: m.selected.step for m in methods if m.selected is not None}
    if len(set(steps.values())) <= 1:
        return None
    shown = ", ".join(f"{lab} step {s}" for lab, s in steps.items())
    return (f"**The rows compare different training steps** ({shown}). For a comparison at the same training "
            f"budget pass `--step N` with a step every method has scored.")


def _left_out(methods: list[Method], keys: list[str]) -> dict[str, list[str]]:
    """{panel key: ["run X left out (why)", ...]} for the panels drawn, so a reader sees why GRPO is absent
    from the ASPO-only panels (verl's vanilla loss does not log those metrics)."""
    from archer.plot.panels import run_lines, panels_by_key

    runs = [m.run for m in methods if m.run is not None]
    notes: dict[str, list[str]] = {}
    for panel in panels_by_key(keys):
        for index, run in enumerate(runs):
            lines, reasons = run_lines(panel, run, index)
            if not lines:
                notes.setdefault(panel.key, []).append(f"{run.label} not on this panel: {'; '.join(reasons)}")
    return notes


def render_comparison(methods: list[Method], out: Path, written: dict, manifest: dict) -> str:
    lines = ["# ASPO vs GRPO: comparison", ""]
    if manifest["command"]:
        lines += ["Generated by", "", "```bash", manifest["command"], "```", ""]
    lines += ["## Compared checkpoints", "",
              "| method | table row | checkpoint | how chosen | scored steps | run dir | loss mode | logged steps | step dirs in run dir |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    notes = []
    for m in methods:
        if m.selected is not None:
            scored = ", ".join(str(c.step) if c.step is not None else c.name for c in m.checkpoints)
            row = [m.row_label, f"`{m.selected.path}`", m.reason, scored]
        else:
            row = ["–", "–", "no eval output given", "–"]
            notes.append(f"{m.label}: no `--eval` given, so no table row; evaluate it with "
                         f"`python -m archer.eval run --model {m.run_dir} --out EVAL_DIR`.")
        if m.run is not None:
            lo, hi = int(m.run.table["step"].min()), int(m.run.table["step"].max())
            saved = ", ".join(map(str, m.saved_steps)) or "none found"
            row += [f"`{m.run_dir}`", f"{m.run.loss_mode} (from {m.run.loss_mode_source})", f"{lo}–{hi}", saved]
            if m.selected is not None and m.selected.step is not None and m.selected.step > hi:
                notes.append(f"{m.label}: the table's step {m.selected.step} is after the last logged step {hi} "
                             f"of `{m.run.source}`: are the run and eval dirs of the same run?")
        else:
            mode, source = m.loss_mode
            row += ["–", f"{mode} (from {source})" if mode else "not recorded", "–", "–"]
            notes.append(f"{m.label}: no `--run` given, so no training dynamics.")
        lines.append("| " + " | ".join([m.label, *(_cell(c) for c in row)]) + " |")
    differs = _differs_note(methods)
    if differs:
        notes.insert(0, differs)
    if any(SELECT_BEST == manifest["select"] and m.selected is not None and "--step" not in m.reason for m in methods):
        notes.append("`--select best` picks each method's checkpoint by its scores on the same eval sets the "
                     "table reports, which flatters both rows; prefer `--step N` or the last checkpoint for claims.")
    if notes:
        lines += [""] + [f"- {n}" for n in notes]

    if "tables" in written:
        lines += ["", "## Tables", "",
                  "[table.md](table.md) (Table 1 math / Table 2 code layout"
                  + (", with the paper's published rows marked [ref]" if manifest["reference"] else "")
                  + "); CSV: " + ", ".join(f"[{Path(p).name}]({Path(p).name})" for p in written["tables"]
                                           if Path(p).suffix == ".csv")
                  + "; every scored checkpoint: [all_steps/table.md](all_steps/table.md).", ""]
        table_md = (out / "table.md").read_text(encoding="utf-8")
        body = table_md.split("### Per-benchmark summary")[0]
        body = "\n".join(ln for ln in body.splitlines() if not ln.startswith("## "))
        lines += [body.strip(), ""]
        lines += ["Eval across checkpoints: [eval.png](eval.png)", "", "![eval across checkpoints](eval.png)"]
    else:
        lines += ["", "## Tables", "", "No `--eval` given: no table."]

    lines += ["", "## Training dynamics", ""]
    if "dynamics" in written:
        pngs = {Path(p).stem: Path(p) for p in written["dynamics"]}
        lines.append("All panels: [dynamics/overview.png](dynamics/overview.png). Every metric means the same under "
                     "both losses (verl's names keep verl's meaning, archer's own are under `actor/aspo/`), so a "
                     "panel compares like with like; legends name each run and its loss (docs/plots.md).")
        lines.append("")
        shown = [k for k in PAPER_PANELS if k in pngs] + [k for k in pngs if k not in PAPER_PANELS and k != "overview"]
        missing = [k for k in PAPER_PANELS if k not in pngs]
        left_out = _left_out(methods, shown)
        for key in shown:
            lines += [f"![{key}](dynamics/{key}.png)", ""]
            lines += [f"_{note}_" for note in left_out.get(key, [])] + ([""] if key in left_out else [])
        if missing:
            lines.append(f"No run logged the metrics of: {', '.join(missing)} (no figure).")
    else:
        lines.append("No `--run` given: no training-dynamics figures.")

    diffs = config_differences(methods)
    with_config = [m for m in methods if m.config is not None]
    lines += ["", "## Settings that differ", ""]
    if len(with_config) >= 2:
        lines.append(f"Saved configs: {', '.join(f'{m.label} `{m.config_path}`' for m in with_config)}. "
                     "Keys whose values differ and change the experiment (names, paths, logging, checkpointing "
                     "and scheduling left out); GRPO vs ASPO should differ in the policy loss and its clip "
                     "settings only:")
        lines.append("")
        lines += ["| key | " + " | ".join(m.label for m in with_config) + " |",
                  "| --- |" + " --- |" * len(with_config)]
        for key, values in diffs[:MAX_CONFIG_DIFFS]:
            lines.append(f"| `{key}` | " + " | ".join(f"`{_cell(v)}`" for v in values) + " |")
        if not diffs:
            lines.append("| (none) |" + " |" * len(with_config))
        if len(diffs) > MAX_CONFIG_DIFFS:
            lines.append(f"\n… and {len(diffs) - MAX_CONFIG_DIFFS} more keys (compare the config files).")
    else:
        lines.append("Fewer than two runs with a saved `config.yaml`: settings not compared.")
    lines += ["", "Machine-readable: [comparison.json](comparison.json).", ""]
    return "\n".join(lines)
