"""The launcher behind scripts/run_aspo_{math,code}.sh and scripts/run_grpo_{math,code}.sh.

    python -m archer.launch.run --task math|code [--dry-run | --smoke] [--help] [hydra overrides ...]

Every setting is an environment variable declared once in archer/launch/settings.py (docs/launch.md); hydra
overrides after the flags come last and win. In order:

1. the environment's settings are checked (type, range, choices; what --smoke cannot honour) before anything
   is set up, and every problem is reported at once (exit 2);
2. ``--smoke`` with ``PYTHON`` unset sets up the CPU venv (scripts/cpu_env.sh, or scripts/vllm_cpu_env.sh for
   ``SMOKE_ROLLOUT=vllm``) and runs again under it; ``--dry-run`` uses the interpreter that has verl (``PYTHON``,
   this one, or the repository's .venv);
3. the values are resolved (archer.launch.resolve) and checked again, then:

   * ``--dry-run``: ``python -m archer.launch.dry_run`` (every check the CPU can make; the config as YAML on
     stdout);
   * a GPU run: the software check (``ARCHER_AUTO_INSTALL=1`` installs), the GPU preflight (``PREFLIGHT=0``
     skips it), the dry run's checks with missing data prepared (its config saved as ``$CKPT_DIR/config.yaml``),
     with ``NNODES>1`` the Ray cluster check, then training through the console filter (``$CKPT_DIR/train.log``);
   * ``--smoke``: the same, on CPU, with the tiny offline assets and the CPU settings (docs/smoke.md), then
     ``python -m archer.smoke finish`` (export, eval, plot, ``SMOKE_SUMMARY.json``).

Exit status (every archer command, archer/cli.py): 0 done, 1 the work failed, 2 bad input, 130 Ctrl-C.
Standard library only until the chosen interpreter takes over.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from archer.cli import WorkFailed
from archer.launch import presets, resolve

REPO = Path(__file__).resolve().parents[2]
SETUP_SECONDS_ENV = "ARCHER_SMOKE_SETUP_SECONDS"  # the re-run under the smoke venv gets the set-up's time
# what every process of a smoke run gets besides the CPU settings (strings through Ray's runtime env)
SMOKE_WORKER_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM",
                    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VERL_FILE_LOGGER_PATH", "ARCHER_SMOKE_REWARD_TRACE",
                    "ARCHER_CACHE_DIR", "ARCHER_SMOKE_FAULT", "ARCHER_SMOKE_WEIGHT_SYNC_TIMEOUT")


class Failed(WorkFailed):
    """The work failed after the input was accepted: exit 1."""


class Launcher:
    def __init__(self, task: str, argv: Sequence[str] = ()):
        self.task = task
        self.argv = ["--task", task, *argv]  # for the re-run under the smoke venv

    def log(self, msg: str) -> None:
        print(f"[run_aspo_{self.task}] {msg}", file=sys.stderr, flush=True)

    # -----------------------------------------------------------------------------------------------
    def usage(self) -> str:
        t = self.task
        return f"""usage: bash scripts/run_aspo_{t}.sh [--dry-run | --smoke] [--help] [hydra overrides ...]

ASPO ({t}) with the Archer2.0 / paper settings, through python -m archer.launch.main (verl 0.9.1), on
DeepSeek-R1-Distill-Qwen-1.5B or another model preset: MODEL={'|'.join(presets.PRESETS)}
(archer/launch/presets.py, docs/models.md). Every setting is an environment variable (docs/launch.md);
hydra overrides after the flags are applied last and win, e.g.
  bash scripts/run_aspo_{t}.sh trainer.total_epochs=1 actor_rollout_ref.rollout.n=8
  MODEL=qwen3-8b bash scripts/run_aspo_{t}.sh --dry-run

  --dry-run   CPU-only check: compose the full config, check every setting, the settings together, the
              data files and the run state, validate with verl, load the reward, and print the resolved
              config as YAML on stdout (logs on stderr); every problem is listed. Downloads nothing.
  --smoke     the whole job on any machine, CPU only, a few minutes: sets up .venv if PYTHON is unset,
              builds tiny offline assets (cached), trains SMOKE_STEPS (2) steps through verl's real trainer
              loop, then exports, evaluates and plots; writes $CKPT_DIR/SMOKE_SUMMARY.json (docs/smoke.md)
  --help      this text

Without --dry-run (GPU node): checks that verl, vLLM and archer are installed (ARCHER_AUTO_INSTALL=1
installs them with scripts/install_gpu.sh; otherwise prints the command), runs the GPU preflight (driver,
GPUs, disk for MAX_CKPT_TO_KEEP checkpoints, model: python -m archer.launch.preflight), prepares missing
data with python -m archer.data prepare, with NNODES>1 checks that every Ray node and GPU joined
(python -m archer.launch.ray_check), then trains. The resolved config is saved as $CKPT_DIR/config.yaml
and the console log as $CKPT_DIR/train.log.
"""

    # -----------------------------------------------------------------------------------------------
    def main(self, argv: Sequence[str]) -> int:
        mode, extra = "train", []
        args = list(argv)
        while args:
            arg = args.pop(0)
            if arg == "--dry-run":
                mode = "dry_run" if mode != "smoke" else "smoke_dry_run"
            elif arg == "--smoke":
                mode = "smoke" if mode != "dry_run" else "smoke_dry_run"
            elif arg in ("-h", "--help"):
                print(self.usage(), end="")
                return 0
            elif arg == "--":
                extra += args
                break
            elif arg.startswith("-"):
                raise resolve.LaunchError(f"unknown flag '{arg}' (hydra overrides have no leading dash; see --help)")
            else:
                extra.append(arg)
        env = os.environ
        smoke = mode.startswith("smoke")
        # every setting the environment gives, checked before anything starts (set-up, assets, Ray)
        self._stop_if(resolve.environment_problems(env, smoke=smoke))
        if smoke:
            return self.smoke(extra, dry_run=mode == "smoke_dry_run")
        values = self.values(env)
        overrides = resolve.overrides(values) + extra
        if mode == "dry_run":
            return self.dry_run(overrides)
        return self.gpu_run(values, overrides)

    def values(self, env, smoke: bool = False, facts=None) -> resolve.Values:
        values = resolve.resolve(self.task, env, repo=str(REPO), smoke=smoke, smoke_facts=facts)
        self._stop_if(resolve.problems(values))
        return values

    def _stop_if(self, problems: list[str]) -> None:
        if problems:
            listing = "\n".join(f"  - {p}" for p in problems)
            raise resolve.LaunchError(f"{len(problems)} problem(s) in the settings; nothing was started:\n{listing}")

    # -----------------------------------------------------------------------------------------------
    # interpreters
    def python(self) -> str:
        return os.environ.get("PYTHON") or "python3"

    @staticmethod
    def has_module(python: str, module: str) -> bool:
        """Whether ``python`` finds ``module`` (found, not imported: importing verl takes seconds)."""
        code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        try:
            return subprocess.run([python, "-c", code], capture_output=True).returncode == 0
        except OSError:
            return False

    def dry_run(self, overrides: list[str]) -> int:
        python = self.python()
        found = self.has_module(python, "verl")
        if not found and not os.environ.get("PYTHON"):
            venv = REPO / ".venv" / "bin" / "python"
            if venv.exists() and self.has_module(str(venv), "verl"):
                python, found = str(venv), True
                self.log(f"using {python} (python3 has no verl; set PYTHON to choose)")
        if not found:
            raise Failed(f"verl is not importable by {python}; set up the CPU venv with bash scripts/test.sh (then "
                         "PYTHON=.venv/bin/python), or install: pip install -r requirements-cpu.txt && pip install "
                         f"-e . --no-deps (CPU) or {self.install_hint()}")
        os.chdir(REPO)
        os.execv(python, [python, "-m", "archer.launch.dry_run", "--task", self.task, *overrides])
        return 1  # pragma: no cover  (execv does not return)

    # -----------------------------------------------------------------------------------------------
    # the GPU node
    def install_hint(self, values: Optional[resolve.Values] = None) -> str:
        flags = [f"PYTHON={self.python()}"]
        if values is not None and values["FLASH_ATTN"] == "0":
            flags.insert(0, "FLASH_ATTN=0")
        if values is not None and values["ENGINE"] == "megatron":
            flags.insert(0, "MEGATRON=1")
        hint = f"cd {REPO} && {' '.join(flags)} bash scripts/install_gpu.sh"
        return hint + (" && apt-get install -y bubblewrap" if self.task == "code" else "")

    def missing_software(self, values: resolve.Values) -> list[str]:
        python, missing = self.python(), []
        if not self.has_module(python, "verl"):
            missing.append("verl")
        if values["ROLLOUT_ENGINE"] == "vllm":
            if not self.has_module(python, "vllm"):
                missing.append("vllm")
            if values["FLASH_ATTN"] == "1" and not self.has_module(python, "flash_attn"):
                missing.append("flash-attn (or FLASH_ATTN=0 for sdpa attention)")
        if values["ENGINE"] == "megatron":
            for module, name in (("megatron.core", "megatron-core"), ("mbridge", "mbridge"),
                                 ("transformer_engine", "transformer-engine")):
                if not self.has_module(python, module):
                    missing.append(f"{name} (MEGATRON=1 install)")
        # Ray workers load archer through verl's plugin entry point: archer must be pip-installed
        code = ("import sys, importlib.metadata as m; "
                "sys.exit(0 if any(e.name == 'archer' for e in m.entry_points(group='verl.plugins')) else 1)")
        if subprocess.run([python, "-c", code], capture_output=True).returncode != 0:
            missing.append("archer (pip install -e .)")
        if self.task == "code" and shutil.which("bwrap") is None:
            missing.append("bubblewrap (the code reward's sandbox)")
        return missing

    def ensure_software(self, values: resolve.Values) -> None:
        missing = self.missing_software(values)
        if not missing:
            return
        if os.environ.get("ARCHER_AUTO_INSTALL", "0") != "1":
            raise Failed(f"missing on this node: {', '.join(missing)}. Install with:\n    {self.install_hint(values)}\n"
                         "  or rerun with ARCHER_AUTO_INSTALL=1 to let the launcher do it.")
        self.log(f"installing (ARCHER_AUTO_INSTALL=1): {', '.join(missing)}")
        env = dict(os.environ, PYTHON=self.python(), FLASH_ATTN=values["FLASH_ATTN"],
                   MEGATRON="1" if values["ENGINE"] == "megatron" else "0")
        if subprocess.run(["bash", str(REPO / "scripts" / "install_gpu.sh")], env=env, stdout=sys.stderr).returncode:
            raise Failed(f"pip install failed; run by hand: {self.install_hint(values)}")
        if self.task == "code" and shutil.which("bwrap") is None:
            if os.geteuid() == 0 and shutil.which("apt-get"):
                cmd = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap"
                if subprocess.run(["bash", "-c", cmd], stdout=sys.stderr).returncode:
                    raise Failed("apt-get install bubblewrap failed")
            else:
                raise Failed("install bubblewrap (needs root): sudo apt-get install -y bubblewrap")
        missing = self.missing_software(values)
        if missing:
            raise Failed(f"still missing after installing: {', '.join(missing)}")

    def gpu_preflight(self, values: resolve.Values, overrides: list[str]) -> None:
        """Driver vs torch's CUDA, GPU count and memory, disk for the kept checkpoints, the model reachable,
        bwrap (python -m archer.launch.preflight; docs/launch.md). PREFLIGHT=0 skips it."""
        if values["PREFLIGHT"] == "0":
            return
        cmd = [self.python(), "-m", "archer.launch.preflight", "--task", self.task, "--nnodes", values["NNODES"],
               "--gpus-per-node", values["GPUS_PER_NODE"], "--model", values["MODEL_PATH"], "--engine",
               values["ENGINE"], "--ckpt-dir", values["CKPT_DIR"], "--keep", values["MAX_CKPT_TO_KEEP"],
               "--min-gpu-memory-gb", values["PREFLIGHT_MIN_GPU_MEMORY_GB"]]
        if any(o.split("=", 1)[0].lstrip("+").endswith("checkpoint.save_contents") and "hf_model" in o
               for o in overrides):
            cmd.append("--hf-model")
        if subprocess.run(cmd).returncode:
            raise Failed("GPU preflight failed (fixes above; PREFLIGHT=0 skips it); nothing was started")

    def preflight_config(self, values: resolve.Values, overrides: list[str]) -> None:
        """The dry run's checks with missing data prepared and the model's config fetched: the config goes to
        $CKPT_DIR/config.yaml, its log lines through the console filter like the trainer's."""
        ckpt = Path(values["CKPT_DIR"])
        ckpt.mkdir(parents=True, exist_ok=True)
        self.log("preflight: config, reward, data (python -m archer.launch.dry_run --preflight)")
        with open(ckpt / "config.yaml", "w") as out:
            check = subprocess.Popen([self.python(), "-m", "archer.launch.dry_run", "--preflight", "--task",
                                      self.task, *overrides], stdout=out, stderr=subprocess.PIPE, cwd=REPO)
            console = subprocess.Popen([self.python(), "-m", "archer.launch.console", "--log",
                                        str(ckpt / "train.log")], stdin=check.stderr, cwd=REPO)
            check.stderr.close()
            rc = check.wait()
            console.wait()
        if rc:
            raise Failed(f"preflight failed (see above; full output in {ckpt}/train.log); nothing was started")
        self.log(f"resolved config: {ckpt}/config.yaml")

    def ray_check(self, values: resolve.Values) -> None:
        # NNODES>1 runs on an existing Ray cluster (docs/launch.md): RAY_ADDRESS, or the one `ray start --head`
        # started on this node ("auto"); verl's ray.init() joins it (RAY_ADDRESS is exported)
        address = os.environ.setdefault("RAY_ADDRESS", "auto")
        self.log(f"checking the Ray cluster at {address}: {values['NNODES']} nodes x {values['GPUS_PER_NODE']} GPUs")
        cmd = [self.python(), "-m", "archer.launch.ray_check", "--address", address, "--nodes", values["NNODES"],
               "--gpus-per-node", values["GPUS_PER_NODE"], "--timeout", values["RAY_WAIT_TIMEOUT"]]
        if subprocess.run(cmd, cwd=REPO).returncode:
            raise Failed("the Ray cluster is not complete (see above); start it as in docs/launch.md")

    def train(self, values: resolve.Values, overrides: list[str], steps: Optional[str] = None) -> None:
        """python -m archer.launch.main through the console filter (one line per step, each warning once;
        everything in $CKPT_DIR/train.log; ARCHER_CONSOLE=full shows it all). Ctrl-C: exit 130, the console
        says where a rerun resumes from."""
        ckpt = values["CKPT_DIR"]
        console_cmd = [self.python(), "-m", "archer.launch.console", "--log", f"{ckpt}/train.log", "--ckpt-dir", ckpt]
        if steps:
            console_cmd += ["--steps", steps]
        trainer = subprocess.Popen([self.python(), "-m", "archer.launch.main", *overrides], cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        console = subprocess.Popen(console_cmd, stdin=trainer.stdout, cwd=REPO)
        trainer.stdout.close()
        interrupted = False
        while True:
            try:
                trainer_rc, console_rc = trainer.wait(), console.wait()
                break
            except KeyboardInterrupt:  # the children got the SIGINT too: wait for their last lines
                interrupted = True
        if interrupted or 130 in (trainer_rc, console_rc):
            if console_rc != 130:  # the console says where to resume from, unless the trainer died first
                self.log(f"interrupted; rerun the same command to resume from the last checkpoint in {ckpt}")
            raise SystemExit(130)
        if trainer_rc:
            raise Failed(f"training failed (exit {trainer_rc}); see the error above and {ckpt}/train.log")

    def prepare_training(self, values: resolve.Values, overrides: list[str]) -> None:
        """What a run (GPU or smoke) does before training: the dry run's checks with data prepared
        ($CKPT_DIR/config.yaml), with NNODES>1 the Ray cluster check, and the tensorboard dir for the Ray job."""
        self.preflight_config(values, overrides)
        if int(values["NNODES"]) > 1:
            self.ray_check(values)
        os.environ["TENSORBOARD_DIR"] = values["TENSORBOARD_DIR"]

    def gpu_run(self, values: resolve.Values, overrides: list[str]) -> int:
        self.ensure_software(values)
        self.gpu_preflight(values, overrides)
        self.prepare_training(values, overrides)
        self.log(f"training; checkpoints in {values['CKPT_DIR']} (resume_mode={values['RESUME_MODE']}); console: "
                 f"one line per step, everything in {values['CKPT_DIR']}/train.log")
        self.train(values, overrides)
        return 0

    # -----------------------------------------------------------------------------------------------
    # --smoke (docs/smoke.md)
    def smoke_venv(self, rollout: str) -> None:
        """PYTHON unset: set up the CPU venv (.venv, or .venv-vllm for the vLLM rehearsal) and run again under it."""
        started = time.monotonic()
        if rollout == "vllm":
            source, call = "scripts/vllm_cpu_env.sh", 'archer_vllm_cpu_env "$1" python3 "$2" "$3" && echo "$ARCHER_VLLM_VENV_PYTHON" >"$4"'
            venv = os.environ.get("VLLM_VENV") or str(REPO / ".venv-vllm")
        else:
            source, call = "scripts/cpu_env.sh", 'archer_cpu_env "$1" python3 "$2" "$3" && echo "$ARCHER_VENV_PYTHON" >"$4"'
            venv = os.environ.get("VENV") or str(REPO / ".venv")
        with tempfile.NamedTemporaryFile("r", suffix=".python") as answer:
            script = f'set -euo pipefail; source "$1/{source}"; {call}'
            rc = subprocess.run(["bash", "-c", script, "bash", str(REPO), venv, f"run_aspo_{self.task}", answer.name],
                                stdout=sys.stderr).returncode
            python = answer.read().strip()
        if rc or not python:
            raise Failed("could not set up the CPU environment (see above)")
        env = dict(os.environ, PYTHON=python, **{SETUP_SECONDS_ENV: f"{time.monotonic() - started:.2f}"})
        os.chdir(REPO)
        os.execve(python, [python, "-m", "archer.launch.run", *self.argv], env)

    def smoke(self, extra: list[str], *, dry_run: bool) -> int:
        rollout = os.environ.get("SMOKE_ROLLOUT") or "cpu_transformers"
        if not os.environ.get("PYTHON"):
            self.smoke_venv(rollout)  # does not return
        setup_seconds = os.environ.pop(SETUP_SECONDS_ENV, "0")
        os.environ.setdefault("PYTHON", sys.executable)
        started = time.monotonic()
        from archer.smoke import cpu_settings
        from archer.smoke.assets import ensure_assets, settings_for

        # the settings the CPU forces (the CPU backend in every verl process, ...), from their one table
        env_settings, cpu_overrides = cpu_settings.launcher_parts(rollout)
        for s in env_settings:
            if not (s.user_wins and os.environ.get(s.name)):
                os.environ[s.name] = s.smoke
        worker_env = [s.name for s in env_settings]
        # nothing from the network
        os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
                          TOKENIZERS_PARALLELISM="false")
        for name, default in (("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1"), ("RAY_DEDUP_LOGS", "0")):
            os.environ.setdefault(name, default)
        self.log("smoke assets (tiny tokenizer + Qwen2 + data; cached under ${ARCHER_CACHE_DIR:-~/.cache/archer}/smoke)")
        asset_settings = settings_for(self.task, warm_start=os.environ.get("SMOKE_WARM_START", "1") != "0",
                                      hidden_size=cpu_settings.HIDDEN_SIZE[rollout])
        assets, manifest, _ = ensure_assets(asset_settings)
        facts = {"_smoke_model": manifest["model"], "_smoke_data_dir": manifest["data_dir"],
                 "_smoke_train_file": manifest["train_file"], "_smoke_prompt_length": str(manifest["prompt_length"]),
                 "_smoke_response_length": str(manifest["response_length"])}
        assets_seconds = time.monotonic() - started
        values = self.values(os.environ, smoke=True, facts=facts)
        ckpt = values["CKPT_DIR"]
        os.environ["VERL_FILE_LOGGER_PATH"] = f"{ckpt}/metrics/train-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.jsonl"
        token_cap = str(int(values["MAX_PROMPT_LENGTH"]) + int(values["MAX_RESPONSE_LENGTH"]))
        smoke_overrides = cpu_overrides + [
            f"trainer.total_training_steps={values['SMOKE_STEPS']}",
            "data.dataloader_num_workers=0",
            f"actor_rollout_ref.actor.ppo_max_token_len_per_gpu={token_cap}",
            f"actor_rollout_ref.ref.log_prob_max_token_len_per_gpu={token_cap}",
            f"actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu={token_cap}",
            "actor_rollout_ref.rollout.agent.num_workers=1",
            "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
            "++ray_kwargs.ray_init.include_dashboard=False",
        ]
        if int(values["NNODES"]) <= 1:
            # verl's own ray.init starts a private cluster: CPU slots as Ray logical GPUs (archer/smoke/platform.py)
            gpus = int(values["NNODES"]) * int(values["GPUS_PER_NODE"])
            smoke_overrides += ["ray_kwargs.ray_init.num_cpus=8", f"++ray_kwargs.ray_init.num_gpus={gpus}"]
        smoke_overrides += resolve.ray_env({name: os.environ[name] for name in worker_env + list(SMOKE_WORKER_ENV)
                                            if name in os.environ})
        overrides = resolve.overrides(values) + smoke_overrides + extra
        if dry_run:
            return self.dry_run(overrides)
        from archer.smoke.cleanup import SHM_DIR, cleanup

        shm_before = tempfile.NamedTemporaryFile("w", prefix="archer-smoke-shm.", delete=False)
        shm_before.write("\n".join(sorted(os.listdir(SHM_DIR))) if SHM_DIR.is_dir() else "")
        shm_before.close()
        try:
            self.prepare_training(values, overrides)
            self.log(f"smoke training: {values['SMOKE_STEPS']} step(s) on CPU; checkpoints in {ckpt} (resume_mode="
                     f"{values['RESUME_MODE']}); console: one line per step, everything in {ckpt}/train.log")
            Path(os.environ["VERL_FILE_LOGGER_PATH"]).parent.mkdir(parents=True, exist_ok=True)
            train_started = time.monotonic()
            self.train(values, overrides, steps=values["SMOKE_STEPS"])
            train_seconds = time.monotonic() - train_started
            if values["SMOKE_FINISH"] == "0":
                self.log(f"SMOKE_FINISH=0: trained in {train_seconds:.2f} s; no export, eval, plot or summary")
                return 0
            finish = [sys.executable, "-m", "archer.smoke", "finish", "--ckpt-dir", ckpt, "--assets", str(assets),
                      "--seconds", f"setup={setup_seconds},assets={assets_seconds:.2f},train={train_seconds:.2f}",
                      "--rollout", rollout, "--loss-mode", values["LOSS_MODE"]]
            if values["LOSS_MODE"] != "vanilla":
                finish += ["--preset", values["ASPO_PRESET"]]
            if subprocess.run(finish, cwd=REPO).returncode:
                raise Failed("the smoke run trained, but a stage after training failed (see above)")
            return 0
        finally:
            # whatever way the launcher exits, end the run's leftover processes and remove the /dev/shm
            # segments it leaked (archer/smoke/cleanup.py)
            try:
                cleanup(os.environ["VERL_FILE_LOGGER_PATH"], Path(shm_before.name))
            except Exception as exc:  # noqa: BLE001  (a failed clean-up must not hide the run's own result)
                self.log(f"warning: the smoke cleanup failed: {exc}")
            os.unlink(shm_before.name)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    task = None
    if len(argv) >= 2 and argv[0] == "--task":
        task, argv = argv[1], argv[2:]
    if task not in resolve.TASKS:
        print(f"usage: python -m archer.launch.run --task {{{','.join(resolve.TASKS)}}} [--dry-run | --smoke] "
              "[--help] [hydra overrides ...]", file=sys.stderr)
        return 2
    launcher = Launcher(task, argv)
    try:
        return launcher.main(argv)
    except resolve.LaunchError as exc:
        launcher.log(f"error: {exc}")
        return exc.exit_code
    except Failed as exc:
        launcher.log(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
