# shellcheck shell=bash
# The --smoke profile of scripts/run_aspo_{math,code}.sh (sourced by scripts/aspo_common.sh): the same
# launcher path (aspo_defaults + aspo_overrides: preset, DAPO reward + overlong buffer, filter_groups, KL
# loss with the reference model, entropy, save/resume), scaled down and on CPU through verl's real trainer
# loop with archer's CPU backend (archer/smoke/backend.py). docs/smoke.md describes every stage and variable.
#
#   aspo_smoke_prepare    before aspo_defaults: the venv (.venv, or .venv-vllm for SMOKE_ROLLOUT=vllm), the
#                         CPU-forced settings (archer/smoke/cpu_settings.py), assets (cached), smoke defaults
#                         (user env wins)
#   aspo_smoke_overrides  after aspo_overrides: the CPU engine / rollout / Ray settings and worker env; the
#                         EXIT trap that ends leftover processes and /dev/shm segments (aspo_smoke_cleanup)
#   aspo_smoke_run        train, then python -m archer.smoke finish (export, eval, plot, SMOKE_SUMMARY.json;
#                         SMOKE_FINISH=0 stops after training)

aspo_now() { date +%s.%N; }
aspo_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

aspo_smoke_prepare() {
  REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
  # the profile trains its own tiny Qwen2 with verl's FSDP engine on one CPU "GPU": a model preset's engine
  # and parallel settings (docs/models.md) cannot apply
  if [ -n "${MODEL:-}" ] && [ "$MODEL" != r1-distill-qwen-1.5b ]; then
    aspo_die "MODEL=$MODEL: --smoke trains its own tiny model on CPU with the FSDP engine; unset MODEL (check a preset with --dry-run instead)"
  fi
  if [ "${ENGINE:-fsdp}" != fsdp ]; then
    aspo_die "ENGINE=$ENGINE: --smoke runs verl's FSDP engine on CPU; unset ENGINE (the Megatron engine's CPU check is tests/test_aspo_megatron_moe_ep2_matches_fsdp.py)"
  fi
  # the rollout: archer's transformers one (default CPU venv) or verl's own vLLM rollout on vLLM's CPU build
  SMOKE_ROLLOUT=${SMOKE_ROLLOUT:-cpu_transformers}
  case "$SMOKE_ROLLOUT" in
    cpu_transformers | vllm) ;;
    *) aspo_die "SMOKE_ROLLOUT=$SMOKE_ROLLOUT: use cpu_transformers (default) or vllm (docs/smoke.md)" ;;
  esac
  if [ -n "${ROLLOUT_ENGINE:-}" ] && [ "$ROLLOUT_ENGINE" != "$SMOKE_ROLLOUT" ]; then
    aspo_die "ROLLOUT_ENGINE=$ROLLOUT_ENGINE: --smoke picks the rollout with SMOKE_ROLLOUT (cpu_transformers or vllm)"
  fi
  ROLLOUT_ENGINE=$SMOKE_ROLLOUT
  local started
  SMOKE_SECONDS_SETUP=0
  # a fresh machine: .venv with the CPU requirements, as scripts/test.sh does, or for the vLLM rehearsal
  # .venv-vllm (scripts/vllm_cpu_env.sh); PYTHON set = use it as is
  if [ -z "${PYTHON:-}" ] && [ "$SMOKE_ROLLOUT" = vllm ]; then
    local setup_started
    setup_started=$(aspo_now)
    # shellcheck source=scripts/vllm_cpu_env.sh
    source "$REPO_ROOT/scripts/vllm_cpu_env.sh"
    archer_vllm_cpu_env "$REPO_ROOT" python3 "${VLLM_VENV:-$REPO_ROOT/.venv-vllm}" "run_aspo_${ASPO_TASK}" \
      || aspo_die "could not set up the vLLM CPU environment (see above)"
    PYTHON=$ARCHER_VLLM_VENV_PYTHON
    SMOKE_SECONDS_SETUP=$(aspo_elapsed "$setup_started" "$(aspo_now)")
  elif [ -z "${PYTHON:-}" ]; then
    # shellcheck source=scripts/cpu_env.sh
    source "$REPO_ROOT/scripts/cpu_env.sh"
    archer_cpu_env "$REPO_ROOT" python3 "${VENV:-$REPO_ROOT/.venv}" "run_aspo_${ASPO_TASK}" \
      || aspo_die "could not set up the CPU environment (see above)"
    PYTHON=$ARCHER_VENV_PYTHON
    SMOKE_SECONDS_SETUP=$ARCHER_SETUP_SECONDS
  fi
  started=$(aspo_now)  # the assets' time, set-up excluded
  # the settings the CPU forces (the CPU backend in every verl process, ...), from their one table:
  # exports, SMOKE_CPU_ENV (handed to the Ray workers), SMOKE_CPU_OVERRIDES, SMOKE_HIDDEN_SIZE, SMOKE_EVAL_BACKEND
  local cpu_settings
  cpu_settings=$(cd "$REPO_ROOT" && "$PYTHON" -m archer.smoke settings --rollout "$SMOKE_ROLLOUT") \
    || aspo_die "python -m archer.smoke settings failed (see above)"
  eval "$cpu_settings"
  # nothing from the network
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1} RAY_DEDUP_LOGS=${RAY_DEDUP_LOGS:-0}

  local warm=() assignments
  [ "${SMOKE_WARM_START:-1}" = 0 ] && warm=(--no-warm-start)
  aspo_log "smoke assets (tiny tokenizer + Qwen2 + data; cached under \${ARCHER_CACHE_DIR:-~/.cache/archer}/smoke)"
  assignments=$(cd "$REPO_ROOT" && "$PYTHON" -m archer.smoke assets --task "$ASPO_TASK" "${warm[@]}" \
    --hidden-size "$SMOKE_HIDDEN_SIZE") \
    || aspo_die "building the smoke assets failed (see above)"
  eval "$assignments"
  SMOKE_SECONDS_ASSETS=$(aspo_elapsed "$started" "$(aspo_now)")

  # scaled-down launcher settings; every one is still an environment variable and the user's value wins
  SMOKE_STEPS=${SMOKE_STEPS:-2}
  SMOKE_REWARD_WORKERS=${SMOKE_REWARD_WORKERS:-2}
  # one run directory per loss: a GRPO smoke never resumes an ASPO one (or the other way round)
  : "${EXPERIMENT_NAME:=smoke-$( [ "${LOSS_MODE:-aspo}" = vanilla ] && echo grpo || echo aspo )-${ASPO_TASK}}"
  : "${MODEL_PATH:=$SMOKE_MODEL}"
  : "${DATA_DIR:=$SMOKE_DATA_DIR}"
  : "${TRAIN_FILE:=$SMOKE_TRAIN_FILE}"
  : "${VAL_SETS:=$( [ "$ASPO_TASK" = math ] && echo math500 || echo livecodebench_v5 )}"
  : "${MAX_PROMPT_LENGTH:=$SMOKE_PROMPT_LENGTH}"
  : "${MAX_RESPONSE_LENGTH:=$SMOKE_RESPONSE_LENGTH}"
  # off-policy as the recipe (Archer2.0: 64 prompts per rollout, mini-batches of 16, 3 epochs = 12 updates
  # per rollout): 2 prompts, mini-batches of 1, 3 epochs = 6 updates, so that the importance ratio moves
  # and ASPO's clip, dual-clip and IS terms act (on-policy, r = 1 and ASPO equals GRPO)
  : "${TRAIN_BATCH_SIZE:=2}"
  : "${PPO_MINI_BATCH_SIZE:=1}"
  : "${N_RESPONSES:=4}"
  : "${PPO_EPOCHS:=3}"
  : "${LR:=1e-3}"
  : "${LR_WARMUP_STEPS:=0}"
  : "${NNODES:=1}"
  : "${GPUS_PER_NODE:=1}"
  : "${SAVE_FREQ:=1}"
  : "${TOTAL_EPOCHS:=100}"
  : "${LOGGER:=[console,file]}"
  : "${OFFLOAD:=False}"
}

aspo_smoke_overrides() {
  local token_cap=$((MAX_PROMPT_LENGTH + MAX_RESPONSE_LENGTH))
  SMOKE_OVERRIDES=(
    # plain torch on CPU (sdpa attention, FSDP2, no torch.compile, fp32 everywhere) and, for the vLLM
    # rehearsal, vLLM's CPU settings: archer/smoke/cpu_settings.py, one reason each
    "${SMOKE_CPU_OVERRIDES[@]}"
    "trainer.total_training_steps=$SMOKE_STEPS"
    "data.dataloader_num_workers=0"
    "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=$token_cap"
    "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu=$token_cap"
    "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=$token_cap"
    "actor_rollout_ref.rollout.agent.num_workers=1"
    "reward.num_workers=$SMOKE_REWARD_WORKERS"
    "transfer_queue.backend.SimpleStorage.num_data_storage_units=1"
    "++ray_kwargs.ray_init.include_dashboard=False"
  )
  if [ "$NNODES" -le 1 ]; then
    # verl's own ray.init starts a private cluster: CPU slots as Ray logical GPUs (archer/smoke/platform.py)
    SMOKE_OVERRIDES+=("ray_kwargs.ray_init.num_cpus=8" "++ray_kwargs.ray_init.num_gpus=$((NNODES * GPUS_PER_NODE))")
  fi
  # every process verl starts gets the backend and the offline switches (strings, see aspo_ray_env_overrides)
  export VERL_FILE_LOGGER_PATH="$CKPT_DIR/metrics/train-$(date +%Y%m%d-%H%M%S)-$$.jsonl"
  local line
  while IFS= read -r line; do
    SMOKE_OVERRIDES+=("$line")
  done < <(aspo_ray_env_overrides "${SMOKE_CPU_ENV[@]}" HF_HUB_OFFLINE TRANSFORMERS_OFFLINE \
    HF_DATASETS_OFFLINE TOKENIZERS_PARALLELISM OMP_NUM_THREADS MKL_NUM_THREADS VERL_FILE_LOGGER_PATH \
    ARCHER_SMOKE_REWARD_TRACE ARCHER_CACHE_DIR ARCHER_SMOKE_FAULT ARCHER_SMOKE_WEIGHT_SYNC_TIMEOUT)
  # what the finish step records in SMOKE_SUMMARY.json (rollout, eval backend, loss)
  SMOKE_FINISH_ARGS=(--rollout "$SMOKE_ROLLOUT" --loss-mode "$LOSS_MODE")
  [ "$LOSS_MODE" = vanilla ] || SMOKE_FINISH_ARGS+=(--preset "$ASPO_PRESET")
  # a real run (not --dry-run): whatever way the launcher exits, end the run's leftover processes and
  # remove the /dev/shm segments it leaked (archer/smoke/cleanup.py)
  if [ "${dry_run:-0}" != 1 ]; then
    SMOKE_SHM_BEFORE=$(mktemp "${TMPDIR:-/tmp}/archer-smoke-shm.XXXXXX")
    ls -1 /dev/shm >"$SMOKE_SHM_BEFORE" 2>/dev/null || true
    trap aspo_smoke_cleanup EXIT
  fi
}

aspo_smoke_cleanup() {
  (cd "$REPO_ROOT" && "$PYTHON" -m archer.smoke cleanup --run-tag "$VERL_FILE_LOGGER_PATH" \
    --shm-before "$SMOKE_SHM_BEFORE") || aspo_log "warning: the smoke cleanup failed (see above)"
  rm -f "$SMOKE_SHM_BEFORE"
}

aspo_smoke_run() {
  local started finished
  aspo_log "smoke training: $SMOKE_STEPS step(s) on CPU; checkpoints in $CKPT_DIR (resume_mode=$RESUME_MODE); console: one line per step, everything in $CKPT_DIR/train.log"
  mkdir -p "$(dirname "$VERL_FILE_LOGGER_PATH")"
  started=$(aspo_now)
  aspo_train --steps "$SMOKE_STEPS" -- "$@"
  finished=$(aspo_now)
  if [ "${SMOKE_FINISH:-1}" = 0 ]; then
    aspo_log "SMOKE_FINISH=0: trained in $(aspo_elapsed "$started" "$finished") s; no export, eval, plot or summary"
    return
  fi
  "$PYTHON" -m archer.smoke finish --ckpt-dir "$CKPT_DIR" --assets "$SMOKE_ASSETS" \
    --seconds "setup=$SMOKE_SECONDS_SETUP,assets=$SMOKE_SECONDS_ASSETS,train=$(aspo_elapsed "$started" "$finished")" "${SMOKE_FINISH_ARGS[@]}" \
    || aspo_die "the smoke run trained, but a stage after training failed (see above)"
}
