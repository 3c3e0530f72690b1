"""``export_checkpoint``: checks -> verl's merge -> generation config -> verification -> model card -> upload."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Optional, Union

import torch
from tqdm import tqdm

from . import checks, hub, merge, model_card, run_config
from .verify import DEFAULT_PROMPT, CheckResult, results_as_dict, verify_export
from .errors import ExportError, VerificationError
from archer import rundir

log = logging.getLogger("archer.export")

REPORT = rundir.EXPORT_REPORT
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
PathLike = Union[str, Path]


def _mark_failed(out: Path, message: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / hub.FAILED_MARKER).write_text(
        "This export FAILED and must not be used or uploaded.\n\n" + message + "\n", encoding="utf-8"
    )
    readme = out / "README.md"
    if readme.exists():
        readme.unlink()


def export_checkpoint(
    checkpoint_dir: PathLike,
    out_dir: PathLike,
    *,
    verify: bool = True,
    backend: str = "fsdp",
    hf_config_dir: Optional[PathLike] = None,
    base_model: Optional[str] = None,
    config: Optional[PathLike] = None,
    eval_table: Optional[PathLike] = None,
    push_to_hub: Optional[str] = None,
    private: bool = False,
    overwrite: bool = False,
    verify_prompt: str = DEFAULT_PROMPT,
    verify_dtype: str = "float32",
    trust_remote_code: bool = False,
    tie_word_embedding: bool = False,
    use_cpu_initialization: bool = False,
    license: Optional[str] = None,
) -> Path:
    """Convert a verl actor checkpoint dir (``.../global_step_N/actor``; also ``global_step_N``, its
    ``actor/huggingface`` or a run dir, whose latest checkpoint is taken) into a Hugging Face model dir.

    Returns ``out_dir``. Raises ``ExportError`` for bad input (before anything is written) and
    ``VerificationError`` when the export does not match the shards (``out_dir`` then holds
    ``EXPORT_FAILED.txt`` and ``export_report.json`` and no model card).
    """
    checkpoint_dir = Path(checkpoint_dir).expanduser()
    if backend == "fsdp":  # the path forms archer.eval accepts: global_step_N, a run dir, actor/huggingface
        checkpoint_dir, note = checks.resolve_checkpoint_dir(checkpoint_dir)
        if note:
            log.info(note)
    if backend not in ("fsdp", "megatron"):
        raise ExportError(f"--backend {backend!r}: use 'fsdp' or 'megatron'")
    if verify_dtype not in DTYPES:
        raise ExportError(f"--verify-dtype {verify_dtype!r}: use one of {sorted(DTYPES)}")
    if push_to_hub is not None:
        hub.check_push_request(push_to_hub, verify)
    if backend == "megatron" and verify:
        raise ExportError(
            "--backend megatron: the shard verification is implemented for FSDP checkpoints only; pass --no-verify "
            "(the megatron path hands the checkpoint to verl's megatron merger and is untested in archer)"
        )
    out = checks.check_out_dir(Path(out_dir), overwrite, checkpoint_dir)

    steps = tqdm(total=5, desc="export", unit="step")
    try:  # the bar is finished before any error is printed, so "error: ..." starts its own line
        # -- inputs, all checked before the (slow) merge
        hf_dir = Path(hf_config_dir).expanduser() if hf_config_dir is not None else None
        shard_paths: list[Path] = []
        global_step = checks.global_step_of(checkpoint_dir.resolve())
        if backend == "fsdp":
            info = checks.inspect_checkpoint(checkpoint_dir, hf_dir)
            hf_dir, shard_paths, global_step = info.hf_config_dir, info.shard_paths, info.global_step
            log.info("checkpoint %s: FSDP v%s, world_size %d", checkpoint_dir, info.fsdp_version, info.world_size)
            for note in info.notes:
                log.info(note)
        else:
            if not checkpoint_dir.is_dir():
                raise ExportError(f"checkpoint dir {checkpoint_dir} does not exist or is not a directory")
            hf_dir = hf_dir or checkpoint_dir / "model" / "huggingface"
        config_path = Path(config).expanduser() if config is not None else run_config.find_run_config(checkpoint_dir)
        run_cfg = None
        if config is not None:
            run_cfg = run_config.load_run_config(config_path)
        elif config_path is not None:
            try:  # found by looking around the checkpoint: an unrelated config.yaml is skipped, not fatal
                run_cfg = run_config.load_run_config(config_path)
            except ExportError as exc:
                log.warning("ignoring %s: %s", config_path, exc)
                config_path = None
        if config_path is not None:
            log.info("run config: %s", config_path)
        else:
            log.info("no run config found (pass --config FILE): the model card lists no hyperparameters")
        table = model_card.load_eval_table(Path(eval_table)) if eval_table is not None else None
        steps.update()

        # -- verl's merge
        if out.exists() and overwrite:
            shutil.rmtree(out)
        steps.set_description("export: verl merge")
        try:
            merge.run_verl_merge(
                checkpoint_dir, out, backend=backend, hf_config_dir=hf_dir, trust_remote_code=trust_remote_code,
                tie_word_embedding=tie_word_embedding, use_cpu_initialization=use_cpu_initialization,
            )
        except Exception as exc:
            _mark_failed(out, f"verl's model merger failed: {type(exc).__name__}: {exc}")
            raise ExportError(f"verl's model merger failed on {checkpoint_dir}: {type(exc).__name__}: {exc}") from exc
        if (out / "lora_adapter").exists():
            shutil.rmtree(out)
            checks.refuse_lora(checkpoint_dir, ["lora_ (found by verl's merger)"])
        generation_source = merge.ensure_generation_config(out, hf_dir, base_model)
        log.info("generation config: %s", generation_source)
        steps.update()

        # -- verification
        report: dict = {
            "checkpoint": str(checkpoint_dir.resolve()),
            "backend": backend,
            "global_step": global_step,
            "generation_config": generation_source,
            "verified": verify,
            # the policy loss the checkpoint was trained with (archer.eval and archer.compare name it)
            "loss_mode": run_config.loss_mode_of(run_cfg) if run_cfg is not None else None,
            "run_config": str(config_path) if config_path is not None else None,
        }
        results: dict = {}
        if verify:
            steps.set_description("export: verify")
            try:
                checked = verify_export(
                    out, shard_paths, prompt=verify_prompt, dtype=DTYPES[verify_dtype], trust_remote_code=trust_remote_code
                )
            except ExportError as exc:
                checked = [CheckResult("verification", passed=False, problems=[str(exc)])]
            results = results_as_dict(checked)
            report["checks"] = results
            for result in checked:
                diff = "n/a" if result.max_abs_diff is None else f"{result.max_abs_diff:.3g}"
                log.info("check %s: %s (max abs diff %s; %s)", result.name, "PASS" if result.passed else "FAIL",
                         diff, result.tolerance)
                for problem in result.problems[:20]:
                    log.error("  %s: %s", result.name, problem)
            failed = [r for r in checked if not r.passed]
            if failed:
                report["status"] = "failed"
                (out / REPORT).write_text(
                    json.dumps(report, indent=2), encoding="utf-8"
                )
                message = "; ".join(f"{r.name}: {'; '.join(r.problems[:3])}" for r in failed)
                _mark_failed(out, message)
                raise VerificationError(f"verification of {out} failed ({message}); see {out / REPORT}")
        else:
            log.warning("verification skipped (--no-verify): the export is not checked against the shards")
        steps.update()

        # -- model card and report
        hf_config = json.loads((out / "config.json").read_text(encoding="utf-8"))
        card = model_card.build_model_card(
            hf_config=hf_config, base_model=base_model, run_config=run_cfg, run_config_path=config_path,
            eval_table=table, global_step=global_step, verification=results or None,
            generation_config_source=generation_source, license=license,
        )
        (out / "README.md").write_text(card, encoding="utf-8")
        report["status"] = "passed" if verify else "unverified"
        (out / REPORT).write_text(json.dumps(report, indent=2), encoding="utf-8")
        steps.update()

        # -- upload
        if push_to_hub is not None:
            steps.set_description("export: upload")
            url = hub.push_to_hub(out, push_to_hub, private=private)
            log.info("uploaded to %s", url)
        steps.update()
    finally:
        steps.close()
    return out
