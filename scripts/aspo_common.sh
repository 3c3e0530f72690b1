# shellcheck shell=bash
# Shared body of scripts/run_aspo_math.sh and scripts/run_aspo_code.sh (sourced, not run).
#
# The caller sets ASPO_TASK (math | code) and its task default ASPO_TASK_VAL_SETS (the environment variable
# VAL_SETS wins), then calls
#   aspo_main "$@"
# MODEL picks a model preset, scripts/models/$MODEL.sh (default r1-distill-qwen-1.5b), sourced before the
# defaults below: it sets the model's own defaults (MODEL_PATH, ENGINE, parallelism, ...) and cites them.
# Every value below is `${VAR:-default}`: set the environment variable to change it, or append hydra
# overrides after the flags (they come last, so they win). docs/launch.md lists every variable.
#
# Sources cited in the comments:
#   [A2]   Archer2.0 (the ASPO authors' release), scripts/train/run_archer2.0_qwen2.5_1.5b_{math,code}.sh
#          at github.com/wizard-III/Archer2.0 b08d963 (both scripts use the same values; the model they
#          load is DeepSeek-R1-Distill-Qwen-1.5B despite the "qwen2.5" file names)
#   [spec] the settings table of this project's launcher issue ("the paper's / Archer2.0's settings")
#   [verl] how verl 0.9.1 reads the key (verl/trainer/config/_generated_ppo_trainer.yaml and the v1 trainer)

aspo_log() { echo "[run_aspo_${ASPO_TASK}] $*" >&2; }
aspo_die() {
  aspo_log "error: $*"
  exit 1
}

aspo_usage() {
  cat <<EOF
usage: bash scripts/run_aspo_${ASPO_TASK}.sh [--dry-run | --smoke] [--help] [hydra overrides ...]

ASPO (${ASPO_TASK}) with the Archer2.0 / paper settings, through python -m archer.launch.main (verl 0.9.1),
on DeepSeek-R1-Distill-Qwen-1.5B or another model preset: MODEL=$(aspo_model_presets | paste -sd '|' -)
(scripts/models/, docs/models.md). Every setting is an environment variable (docs/launch.md); hydra
overrides after the flags are applied last and win, e.g.
  bash scripts/run_aspo_${ASPO_TASK}.sh trainer.total_epochs=1 actor_rollout_ref.rollout.n=8
  MODEL=qwen3-8b bash scripts/run_aspo_${ASPO_TASK}.sh --dry-run

  --dry-run   CPU-only check: compose the full config, validate it with verl, load the reward, check the
              data files (a missing one is reported with the prepare command a real run executes), print
              the resolved config as YAML on stdout (logs on stderr). Downloads and installs nothing.
  --smoke     the whole job on any machine, CPU only, a few minutes: sets up .venv if PYTHON is unset,
              builds tiny offline assets (cached), trains SMOKE_STEPS (2) steps through verl's real trainer
              loop, then exports, evaluates and plots; writes \$CKPT_DIR/SMOKE_SUMMARY.json (docs/smoke.md)
  --help      this text

Without --dry-run (GPU node): checks that verl, vLLM and archer are installed (ARCHER_AUTO_INSTALL=1
installs them with scripts/install_gpu.sh; otherwise prints the command), runs the GPU preflight (driver,
GPUs, disk for MAX_CKPT_TO_KEEP checkpoints, model: python -m archer.launch.preflight), prepares missing
data with python -m archer.data prepare,
with NNODES>1 checks that every Ray node and GPU joined (python -m archer.launch.ray_check), then trains.
The resolved config is saved as \$CKPT_DIR/config.yaml and the console log as \$CKPT_DIR/train.log.
EOF
}

# ---------------------------------------------------------------------------------------------------
# settings (environment variable -> default); task files set theirs before sourcing

# Every numeric, boolean and choice setting, by kind (one table; aspo_check_settings reads it). It runs first
# thing on the values the environment gives (before .venv set-up, assets, Ray or anything else), and again
# on the resolved values after the defaults, so that e.g. SMOKE_STEPS=two or MAX_RESPONSE_LENGTH=32k stops the
# launcher at once naming the variable, instead of failing in $(( )), in hydra or in a Ray worker.
#   int: whole number   pos: whole number >= 1   nonneg: whole number >= 0   num: number (1e-6, .95, 3.)
#   frac: number in (0, 1]   bool: True | False (any case, as hydra reads them)   01: 0 | 1   a|b|...: one of
ASPO_SETTING_KINDS=(
  MAX_PROMPT_LENGTH:pos MAX_RESPONSE_LENGTH:pos TRAIN_BATCH_SIZE:pos PPO_MINI_BATCH_SIZE:pos
  N_RESPONSES:pos TOP_K:int ROLLOUT_TP:pos ROLLOUT_MAX_MODEL_LEN:pos ROLLOUT_MAX_NUM_BATCHED_TOKENS:pos VAL_N:pos
  LR_WARMUP_STEPS:int PPO_EPOCHS:pos PPO_MAX_TOKEN_LEN_PER_GPU:pos LOG_PROB_MAX_TOKEN_LEN_PER_GPU:pos
  MICRO_BATCH_SIZE_PER_GPU:pos SP_SIZE:pos OVERLONG_BUFFER_LEN:nonneg FILTER_GROUPS_MAX_NUM_GEN_BATCHES:nonneg
  NNODES:pos GPUS_PER_NODE:pos RAY_WAIT_TIMEOUT:pos SAVE_FREQ:int TEST_FREQ:int TOTAL_EPOCHS:pos
  MAX_CKPT_TO_KEEP:nonneg TRAIN_TP:pos TRAIN_PP:pos TRAIN_CP:pos TRAIN_EP:pos TRAIN_ETP:pos
  TEMPERATURE:num TOP_P:frac VAL_TEMPERATURE:num VAL_TOP_P:frac ROLLOUT_GPU_MEMORY_UTILIZATION:frac LR:num
  WEIGHT_DECAY:num GRAD_CLIP:num ENTROPY_COEFF:num KL_LOSS_COEF:num KL_IN_REWARD_COEF:num OVERLONG_PENALTY_FACTOR:num
  FILTER_OVERLONG_PROMPTS:bool ENABLE_CHUNKED_PREFILL:bool USE_KL_LOSS:bool USE_KL_IN_REWARD:bool
  USE_DYNAMIC_BSZ:bool GRADIENT_CHECKPOINTING:bool OFFLOAD:bool OPTIMIZER_CPU_OFFLOAD:bool OVERLONG_BUFFER:bool
  OVERLONG_BUFFER_LOG:bool FILTER_GROUPS:bool VAL_BEFORE_TRAIN:bool
  FLASH_ATTN:01 PREFLIGHT:01 ARCHER_AUTO_INSTALL:01
  "ASPO_PRESET:archer2|paper" "RESUME_MODE:auto|disable|resume_path"
  # the --smoke profile (docs/smoke.md)
  SMOKE_STEPS:pos SMOKE_REWARD_WORKERS:pos SMOKE_WARM_START:01 SMOKE_FINISH:01
)

aspo_check_settings() {
  local entry name kind value doc
  for entry in "${ASPO_SETTING_KINDS[@]}"; do
    name=${entry%%:*} kind=${entry#*:}
    value=${!name:-}
    [ -n "$value" ] || continue
    doc=docs/launch.md
    [[ "$name" == SMOKE_* ]] && doc=docs/smoke.md
    case "$kind" in
      int | pos | nonneg)
        [[ "$value" =~ ^-?[0-9]{1,18}$ ]] || aspo_die "$name=$value is not a whole number (digits only, e.g. 2048); see $doc"
        if [ "$kind" = pos ] && [ "$value" -lt 1 ]; then aspo_die "$name=$value must be at least 1; see $doc"; fi
        if [ "$kind" = nonneg ] && [ "$value" -lt 0 ]; then aspo_die "$name=$value must be 0 or more; see $doc"; fi
        ;;
      num | frac)
        [[ "$value" =~ ^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]] \
          || aspo_die "$name=$value is not a number (e.g. 1e-6, 0.95 or 3); see $doc"
        if [ "$kind" = frac ] && ! awk -v v="$value" 'BEGIN { exit !(v + 0 > 0 && v + 0 <= 1) }'; then
          aspo_die "$name=$value must be in (0, 1]; see $doc"
        fi
        ;;
      bool)
        [[ "${value,,}" =~ ^(true|false)$ ]] || aspo_die "$name=$value: use True or False; see $doc"
        ;;
      01)
        [[ "$value" =~ ^[01]$ ]] || aspo_die "$name=$value: use 1 (on) or 0 (off); see $doc"
        ;;
      *)
        [[ "|$kind|" == *"|$value|"* ]] || aspo_die "$name=$value: use one of ${kind//|/, }; see $doc"
        ;;
    esac
  done
  case "${LOSS_MODE:-aspo}" in
    aspo | vanilla) ;;
    *) aspo_die "LOSS_MODE=$LOSS_MODE: use aspo (ASPO) or vanilla (verl's PPO/GRPO loss, the GRPO baseline)" ;;
  esac
  case "${ENGINE:-fsdp}" in
    fsdp | megatron) ;;
    *) aspo_die "ENGINE=$ENGINE: use fsdp (verl's FSDP2 engine) or megatron (verl's Megatron engine); docs/models.md" ;;
  esac
  case "${RECOMPUTE:-none}" in
    full | none) ;;
    *) aspo_die "RECOMPUTE=$RECOMPUTE: use full (recompute every layer's activations in the backward pass) or none" ;;
  esac
}

# the model presets: the names of scripts/models/*.sh
aspo_model_presets() {
  local f
  for f in "$(dirname "${BASH_SOURCE[0]}")"/models/*.sh; do
    basename "$f" .sh
  done
}

# MODEL -> source scripts/models/$MODEL.sh (its values are `: "${VAR:=...}"`: the environment still wins)
aspo_load_model_preset() {
  MODEL=${MODEL:-r1-distill-qwen-1.5b}
  local preset="$REPO_ROOT/scripts/models/$MODEL.sh"
  [[ "$MODEL" =~ ^[A-Za-z0-9._-]+$ ]] && [ -f "$preset" ] \
    || aspo_die "MODEL=$MODEL is not a model preset; use one of: $(aspo_model_presets | paste -sd ' ' -) (scripts/models/, docs/models.md), or MODEL_PATH=<hub id or dir> with the default preset"
  # shellcheck source=/dev/null
  source "$preset"
}

aspo_defaults() {
  REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
  PYTHON=${PYTHON:-python3}
  aspo_load_model_preset
  VAL_SETS=${VAL_SETS:-$ASPO_TASK_VAL_SETS}

  # model: hub id or local dir (the preset's default) [spec; A2 loads ./models/DeepSeek-R1-Distill-Qwen-1.5B]
  MODEL_PATH=${MODEL_PATH:-deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B}
  # training engine: fsdp (verl's FSDP2 engine, the 1.5B / 4B / 8B presets) | megatron (verl's Megatron
  # engine with expert parallelism, the qwen3-30b-a3b preset; needs MEGATRON=1 at install, docs/models.md)
  ENGINE=${ENGINE:-fsdp}
  # ASPO preset: archer2 = eps 0.2, eps 0.4 for tokens above the 0.8 entropy quantile, dual clip c 3 [A2
  # low/high_entropy_clip_ratio_*, token_entropy_quantile=0.8, clip_ratio_c=3.0]; paper = uniform eps 0.2
  ASPO_PRESET=${ASPO_PRESET:-archer2}
  # policy loss: aspo | vanilla = verl's PPO/GRPO clipped loss, the GRPO baseline of the paper's tables
  # (scripts/run_grpo_{math,code}.sh). vanilla changes nothing else: same data, lengths, batch, optimiser,
  # rollout, reward, filtering and KL (dual-token KL included), and verl's clip settings with the same
  # numbers, eps 0.2 / 0.2 (actor.clip_ratio_low/high) and its hard dual clip c = 3 for A < 0
  # (actor.clip_ratio_c) [verl]
  LOSS_MODE=${LOSS_MODE:-aspo}
  # checkpoints / logs go to checkpoints/$PROJECT_NAME/$EXPERIMENT_NAME: aspo-<model>-<task>, or
  # grpo-<model>-<task> for LOSS_MODE=vanilla (the GRPO baseline)
  local run_kind=aspo
  [ "$LOSS_MODE" = vanilla ] && run_kind=grpo
  EXPERIMENT_NAME=${EXPERIMENT_NAME:-$run_kind-$MODEL-$ASPO_TASK}
  ADV_ESTIMATOR=${ADV_ESTIMATOR:-grpo}                         # [A2 adv_estimator=grpo]

  # data: files written by `python -m archer.data prepare` (shared data contract)
  DATA_DIR=${DATA_DIR:-$REPO_ROOT/data}
  TRAIN_FILE=${TRAIN_FILE:-$DATA_DIR/train/${ASPO_TASK}.parquet}
  EVAL_DIR=${EVAL_DIR:-$DATA_DIR/eval}
  MAX_PROMPT_LENGTH=${MAX_PROMPT_LENGTH:-2048}                 # [A2 max_prompt_length=1024*2]
  MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-32768}            # [A2 max_response_length=1024*32]
  TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-64}                     # prompts per step [A2 train_prompt_bsz=64]
  PPO_MINI_BATCH_SIZE=${PPO_MINI_BATCH_SIZE:-16}               # prompts per update [A2 train_prompt_mini_bsz=16]
  FILTER_OVERLONG_PROMPTS=${FILTER_OVERLONG_PROMPTS:-True}     # [A2 data.filter_overlong_prompts=True]
  aspo_check_settings  # before $(( )) below uses these lengths

  # rollout [A2: n_resp_per_prompt=16, temperature=1.0, top_p=1.0, top_k=-1, gen_tp=1,
  # gpu_memory_utilization=0.75, enable_chunked_prefill=True, max_num_batched_tokens = max_model_len =
  # prompt + response]
  ROLLOUT_ENGINE=${ROLLOUT_ENGINE:-vllm}
  N_RESPONSES=${N_RESPONSES:-16}
  TEMPERATURE=${TEMPERATURE:-1.0}
  TOP_P=${TOP_P:-1.0}
  TOP_K=${TOP_K:--1}
  ROLLOUT_TP=${ROLLOUT_TP:-1}
  ROLLOUT_GPU_MEMORY_UTILIZATION=${ROLLOUT_GPU_MEMORY_UTILIZATION:-0.75}
  ENABLE_CHUNKED_PREFILL=${ENABLE_CHUNKED_PREFILL:-True}
  ROLLOUT_MAX_MODEL_LEN=${ROLLOUT_MAX_MODEL_LEN:-$((MAX_PROMPT_LENGTH + MAX_RESPONSE_LENGTH))}
  ROLLOUT_MAX_NUM_BATCHED_TOKENS=${ROLLOUT_MAX_NUM_BATCHED_TOKENS:-$((MAX_PROMPT_LENGTH + MAX_RESPONSE_LENGTH))}
  # validation sampling [A2: v_n=4, v_temperature=0.6, v_top_p=0.95, do_sample=True]
  VAL_N=${VAL_N:-4}
  VAL_TEMPERATURE=${VAL_TEMPERATURE:-0.6}
  VAL_TOP_P=${VAL_TOP_P:-0.95}

  # optimisation [A2: lr=1e-6, lr_warmup_steps=10, weight_decay=0.1, grad_clip=1.0, ppo_epochs=3,
  # entropy_coeff=0, loss_agg_mode=token-mean]
  LR=${LR:-1e-6}
  LR_WARMUP_STEPS=${LR_WARMUP_STEPS:-10}
  WEIGHT_DECAY=${WEIGHT_DECAY:-0.1}
  # [verl] 0.9.1's FSDP engine clips with actor.optim.clip_grad; actor.grad_clip is kept equal (unread)
  GRAD_CLIP=${GRAD_CLIP:-1.0}
  PPO_EPOCHS=${PPO_EPOCHS:-3}
  ENTROPY_COEFF=${ENTROPY_COEFF:-0}
  LOSS_AGG_MODE=${LOSS_AGG_MODE:-token-mean}
  # KL [A2: use_kl_loss=True, kl_loss_coef=0.001, kl_loss_type=low_var_kl, use_kl_in_reward=False, kl_coef=0.0]
  USE_KL_LOSS=${USE_KL_LOSS:-True}
  KL_LOSS_COEF=${KL_LOSS_COEF:-0.001}
  KL_LOSS_TYPE=${KL_LOSS_TYPE:-low_var_kl}
  USE_KL_IN_REWARD=${USE_KL_IN_REWARD:-False}
  KL_IN_REWARD_COEF=${KL_IN_REWARD_COEF:-0.0}

  # memory / throughput. [A2] used micro batch 1 per GPU without dynamic batching and a token cap of
  # prompt + response (34,816) per GPU; here verl's dynamic batching packs short responses up to that
  # same cap (same peak memory as one full-length sequence, fewer forward passes). Token-mean losses use
  # verl's global batch token count, so the update does not depend on the packing.
  USE_DYNAMIC_BSZ=${USE_DYNAMIC_BSZ:-True}
  PPO_MAX_TOKEN_LEN_PER_GPU=${PPO_MAX_TOKEN_LEN_PER_GPU:-$((MAX_PROMPT_LENGTH + MAX_RESPONSE_LENGTH))}
  LOG_PROB_MAX_TOKEN_LEN_PER_GPU=${LOG_PROB_MAX_TOKEN_LEN_PER_GPU:-$((MAX_PROMPT_LENGTH + MAX_RESPONSE_LENGTH))}
  MICRO_BATCH_SIZE_PER_GPU=${MICRO_BATCH_SIZE_PER_GPU:-1}      # used when USE_DYNAMIC_BSZ=False [A2]
  SP_SIZE=${SP_SIZE:-1}                                        # Ulysses sequence parallel [A2 sp_size=1]
  GRADIENT_CHECKPOINTING=${GRADIENT_CHECKPOINTING:-True}       # [A2]
  # attention: flash-attn 2 (verl's default) unless FLASH_ATTN=0 (installed without it) -> sdpa, slower
  FLASH_ATTN=${FLASH_ATTN:-1}
  if [ -z "${ATTN_IMPLEMENTATION:-}" ] && [ "$FLASH_ATTN" = 0 ]; then ATTN_IMPLEMENTATION=sdpa; fi
  OFFLOAD=${OFFLOAD:-False}                                    # param/optimizer offload [A2 offload=False]
  # Megatron engine only (ENGINE=megatron; the model presets set them, docs/models.md): tensor, pipeline,
  # context, expert and expert-tensor parallel sizes of the actor and the reference model; Megatron's CPU
  # optimizer (fp32 master weights and Adam states in host memory); activation recompute (full: every
  # layer, one at a time | none: verl's default); the MoE router's dtype (empty: Megatron's default)
  TRAIN_TP=${TRAIN_TP:-1}
  TRAIN_PP=${TRAIN_PP:-1}
  TRAIN_CP=${TRAIN_CP:-1}
  TRAIN_EP=${TRAIN_EP:-1}
  TRAIN_ETP=${TRAIN_ETP:-1}
  OPTIMIZER_CPU_OFFLOAD=${OPTIMIZER_CPU_OFFLOAD:-False}
  RECOMPUTE=${RECOMPUTE:-none}
  MOE_ROUTER_DTYPE=${MOE_ROUTER_DTYPE:-}

  # reward: archer's compute_score through verl's DAPO reward manager, which adds the overlong penalty
  # [A2: reward_manager with overlong_buffer.enable=True, len=16, penalty_factor=1.0]
  REWARD_MANAGER=${REWARD_MANAGER:-dapo}
  OVERLONG_BUFFER=${OVERLONG_BUFFER:-True}
  OVERLONG_BUFFER_LEN=${OVERLONG_BUFFER_LEN:-16}
  OVERLONG_PENALTY_FACTOR=${OVERLONG_PENALTY_FACTOR:-1.0}
  OVERLONG_BUFFER_LOG=${OVERLONG_BUFFER_LOG:-False}
  # group filtering: drop groups whose 16 responses are all correct or all wrong [A2 +trainer.rejection_sample=True
  # drops them; verl 0.9.1's v1 trainer evicts them by algorithm.filter_groups and refills the batch with
  # fresh prompts (DAPO). metric acc = archer.reward's 0/1 correctness. verl 0.9.1's v1 trainer ignores
  # max_num_gen_batches; archer.plugin.filter_groups_guard enforces it: a step that has used this many
  # generation batches without a full batch stops with an error (0 = no limit, a warning per batch).
  # 10 is verl's DAPO recipe value [verl recipe/dapo]; Archer2.0 has no such bound (it trains on fewer groups)]
  FILTER_GROUPS=${FILTER_GROUPS:-True}
  FILTER_GROUPS_METRIC=${FILTER_GROUPS_METRIC:-acc}
  FILTER_GROUPS_MAX_NUM_GEN_BATCHES=${FILTER_GROUPS_MAX_NUM_GEN_BATCHES:-10}

  # cluster [A2: n_gpus_per_node=8, nnodes=1]
  NNODES=${NNODES:-1}
  GPUS_PER_NODE=${GPUS_PER_NODE:-8}
  RAY_WAIT_TIMEOUT=${RAY_WAIT_TIMEOUT:-300}                    # seconds ray_check waits for nodes to join

  # trainer [A2: save_freq=10, resume_mode=auto, test_freq=-1, val_before_train=False, total_epochs=10,
  # logger console+wandb]. A2 evaluates the saved checkpoints offline (python -m archer.eval here) instead of
  # validating in training; set TEST_FREQ=10 to validate every 10 steps on the eval sets.
  SAVE_FREQ=${SAVE_FREQ:-10}
  # [verl] 0.9.1 keeps every checkpoint by default (trainer.max_actor_ckpt_to_keep: null); one FSDP checkpoint
  # of the 1.5B model with its Adam states is ~21 GB, so keep the last 3 (0 = keep all; docs/launch.md)
  MAX_CKPT_TO_KEEP=${MAX_CKPT_TO_KEEP:-3}
  RESUME_MODE=${RESUME_MODE:-auto}
  TEST_FREQ=${TEST_FREQ:--1}
  VAL_BEFORE_TRAIN=${VAL_BEFORE_TRAIN:-False}
  TOTAL_EPOCHS=${TOTAL_EPOCHS:-10}
  PROJECT_NAME=${PROJECT_NAME:-archer}
  CKPT_DIR=${CKPT_DIR:-$REPO_ROOT/checkpoints/$PROJECT_NAME/$EXPERIMENT_NAME}
  TENSORBOARD_DIR=${TENSORBOARD_DIR:-$CKPT_DIR/tensorboard}
  # console + tensorboard always; wandb too when it is configured (WANDB_API_KEY or WANDB_MODE set), since
  # wandb without a key stops a non-interactive run
  if [ -z "${LOGGER:-}" ]; then
    if [ -n "${WANDB_API_KEY:-}" ] || [ -n "${WANDB_MODE:-}" ]; then
      LOGGER='[console,wandb,tensorboard]'
    else
      LOGGER='[console,tensorboard]'
    fi
  fi
  aspo_check_settings
  if [ "$ENGINE" = fsdp ]; then
    local name
    for name in TRAIN_TP TRAIN_PP TRAIN_CP TRAIN_EP TRAIN_ETP; do
      [ "${!name}" = 1 ] || aspo_die "$name=${!name} is a Megatron setting: set ENGINE=megatron too (ENGINE=fsdp shards with FSDP and SP_SIZE)"
    done
  elif [ "$SP_SIZE" != 1 ]; then
    aspo_die "SP_SIZE=$SP_SIZE is FSDP's Ulysses sequence parallelism; with ENGINE=megatron use TRAIN_CP (context parallelism)"
  fi
}

# ++ray_kwargs.ray_init.runtime_env.env_vars.NAME='value' for each NAME: quoted so that hydra keeps every
# value a string (an unquoted 1 becomes an int, and Ray rejects env_vars that are not Dict[str, str])
aspo_ray_env_overrides() {
  local name value
  for name in "$@"; do
    [ -n "${!name+x}" ] || continue
    value=${!name}
    value=${value//\'/\\\'}
    printf '%s\n' "++ray_kwargs.ray_init.runtime_env.env_vars.${name}='${value}'"
  done
}

# hydra list of single-quoted paths: ['a','b']
aspo_hydra_list() {
  local out="" item
  for item in "$@"; do
    out+="${out:+,}'${item}'"
  done
  printf '[%s]' "$out"
}

aspo_overrides() {
  local val_files=() name
  for name in $VAL_SETS; do
    val_files+=("$EVAL_DIR/$name.parquet")
  done
  OVERRIDES=(
    "aspo_preset=$ASPO_PRESET"
    "actor_rollout_ref.actor.policy_loss.loss_mode=$LOSS_MODE"
    "algorithm.adv_estimator=$ADV_ESTIMATOR"
    "data.train_files=$(aspo_hydra_list "$TRAIN_FILE")"
    "data.val_files=$(aspo_hydra_list "${val_files[@]}")"
    "data.prompt_key=prompt"
    "data.max_prompt_length=$MAX_PROMPT_LENGTH"
    "data.max_response_length=$MAX_RESPONSE_LENGTH"
    "data.train_batch_size=$TRAIN_BATCH_SIZE"
    "data.filter_overlong_prompts=$FILTER_OVERLONG_PROMPTS"
    "data.truncation=error"
    "actor_rollout_ref.model.path=$MODEL_PATH"
    "actor_rollout_ref.model.use_remove_padding=True"
    "actor_rollout_ref.model.enable_gradient_checkpointing=$GRADIENT_CHECKPOINTING"
    "actor_rollout_ref.actor.ppo_mini_batch_size=$PPO_MINI_BATCH_SIZE"
    "actor_rollout_ref.actor.ppo_epochs=$PPO_EPOCHS"
    "actor_rollout_ref.actor.optim.lr=$LR"
    "actor_rollout_ref.actor.optim.lr_warmup_steps=$LR_WARMUP_STEPS"
    "actor_rollout_ref.actor.optim.weight_decay=$WEIGHT_DECAY"
    "actor_rollout_ref.actor.optim.clip_grad=$GRAD_CLIP"
    "actor_rollout_ref.actor.entropy_coeff=$ENTROPY_COEFF"
    "actor_rollout_ref.actor.loss_agg_mode=$LOSS_AGG_MODE"
    "actor_rollout_ref.actor.use_kl_loss=$USE_KL_LOSS"
    "actor_rollout_ref.actor.kl_loss_coef=$KL_LOSS_COEF"
    "actor_rollout_ref.actor.kl_loss_type=$KL_LOSS_TYPE"
    "actor_rollout_ref.actor.use_dynamic_bsz=$USE_DYNAMIC_BSZ"
    "actor_rollout_ref.actor.ppo_max_token_len_per_gpu=$PPO_MAX_TOKEN_LEN_PER_GPU"
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=$MICRO_BATCH_SIZE_PER_GPU"
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=$MICRO_BATCH_SIZE_PER_GPU"
    "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu=$LOG_PROB_MAX_TOKEN_LEN_PER_GPU"
    "actor_rollout_ref.rollout.name=$ROLLOUT_ENGINE"
    "actor_rollout_ref.rollout.n=$N_RESPONSES"
    "actor_rollout_ref.rollout.temperature=$TEMPERATURE"
    "actor_rollout_ref.rollout.top_p=$TOP_P"
    "actor_rollout_ref.rollout.top_k=$TOP_K"
    "actor_rollout_ref.rollout.tensor_model_parallel_size=$ROLLOUT_TP"
    "actor_rollout_ref.rollout.gpu_memory_utilization=$ROLLOUT_GPU_MEMORY_UTILIZATION"
    "actor_rollout_ref.rollout.enable_chunked_prefill=$ENABLE_CHUNKED_PREFILL"
    "actor_rollout_ref.rollout.max_model_len=$ROLLOUT_MAX_MODEL_LEN"
    "actor_rollout_ref.rollout.max_num_batched_tokens=$ROLLOUT_MAX_NUM_BATCHED_TOKENS"
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=$MICRO_BATCH_SIZE_PER_GPU"
    "actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=$LOG_PROB_MAX_TOKEN_LEN_PER_GPU"
    "actor_rollout_ref.rollout.val_kwargs.n=$VAL_N"
    "actor_rollout_ref.rollout.val_kwargs.temperature=$VAL_TEMPERATURE"
    "actor_rollout_ref.rollout.val_kwargs.top_p=$VAL_TOP_P"
    "actor_rollout_ref.rollout.val_kwargs.do_sample=True"
    "algorithm.use_kl_in_reward=$USE_KL_IN_REWARD"
    "algorithm.kl_ctrl.kl_coef=$KL_IN_REWARD_COEF"
    "algorithm.filter_groups.enable=$FILTER_GROUPS"
    "algorithm.filter_groups.metric=$FILTER_GROUPS_METRIC"
    "algorithm.filter_groups.max_num_gen_batches=$FILTER_GROUPS_MAX_NUM_GEN_BATCHES"
    "reward.reward_manager.name=$REWARD_MANAGER"
    "reward.custom_reward_function.path=pkg://archer.reward"
    "reward.custom_reward_function.name=compute_score"
    # [verl] the DAPO reward manager reads reward.reward_kwargs (not in verl's schema, hence ++)
    "++reward.reward_kwargs.overlong_buffer_cfg.enable=$OVERLONG_BUFFER"
    "++reward.reward_kwargs.overlong_buffer_cfg.len=$OVERLONG_BUFFER_LEN"
    "++reward.reward_kwargs.overlong_buffer_cfg.penalty_factor=$OVERLONG_PENALTY_FACTOR"
    "++reward.reward_kwargs.overlong_buffer_cfg.log=$OVERLONG_BUFFER_LOG"
    "++reward.reward_kwargs.max_resp_len=\${data.max_response_length}"
    "trainer.nnodes=$NNODES"
    "trainer.n_gpus_per_node=$GPUS_PER_NODE"
    "trainer.save_freq=$SAVE_FREQ"
    "trainer.max_actor_ckpt_to_keep=$MAX_CKPT_TO_KEEP"
    "trainer.max_critic_ckpt_to_keep=$MAX_CKPT_TO_KEEP"
    "trainer.resume_mode=$RESUME_MODE"
    "trainer.test_freq=$TEST_FREQ"
    "trainer.val_before_train=$VAL_BEFORE_TRAIN"
    "trainer.total_epochs=$TOTAL_EPOCHS"
    "trainer.logger=$LOGGER"
    "trainer.project_name=$PROJECT_NAME"
    "trainer.experiment_name=$EXPERIMENT_NAME"
    "trainer.default_local_dir=$CKPT_DIR"
    "trainer.validation_data_dir=$CKPT_DIR/val_generations"
    # verl's tracking reads TENSORBOARD_DIR in the Ray trainer process: hand it over through the job's env
    "$(aspo_ray_env_overrides TENSORBOARD_DIR)"
  )
  aspo_engine_overrides
  OVERRIDES+=("${ENGINE_OVERRIDES[@]}")
  # [verl] HFModelConfig reads override_config.attn_implementation (default flash_attention_2); the smoke
  # profile (aspo_main's local $smoke) sets sdpa itself
  if [ -n "${ATTN_IMPLEMENTATION:-}" ] && [ "${smoke:-0}" != 1 ]; then
    OVERRIDES+=("++actor_rollout_ref.model.override_config.attn_implementation=$ATTN_IMPLEMENTATION")
  fi
  if [ -n "${RESUME_FROM_PATH:-}" ]; then
    OVERRIDES+=("trainer.resume_mode=resume_path" "trainer.resume_from_path=$RESUME_FROM_PATH")
  fi
}

# the keys of the training engine (ENGINE): verl's FSDP actor/ref configs (default model_engine=dp) or its
# Megatron ones (model_engine=megatron selects verl's megatron_actor / megatron_ref config groups)
aspo_engine_overrides() {
  if [ "$ENGINE" = fsdp ]; then
    ENGINE_OVERRIDES=(
      # [verl] 0.9.1's FSDP engine clips with actor.optim.clip_grad; actor.grad_clip is kept equal (unread)
      "actor_rollout_ref.actor.grad_clip=$GRAD_CLIP"
      "actor_rollout_ref.actor.ulysses_sequence_parallel_size=$SP_SIZE"
      "actor_rollout_ref.actor.fsdp_config.param_offload=$OFFLOAD"
      "actor_rollout_ref.actor.fsdp_config.optimizer_offload=$OFFLOAD"
      "actor_rollout_ref.ref.fsdp_config.param_offload=$OFFLOAD"
      "actor_rollout_ref.ref.ulysses_sequence_parallel_size=$SP_SIZE"
    )
    return
  fi
  # the reference model's megatron keys follow the actor's through verl's own interpolations
  # (ref.megatron.* = ${oc.select:actor_rollout_ref.actor.megatron.*}): parallel sizes, param offload, bridge,
  # transformer overrides
  local m="actor_rollout_ref.actor.megatron"
  ENGINE_OVERRIDES=(
    "model_engine=megatron"
    "$m.tensor_model_parallel_size=$TRAIN_TP"
    "$m.pipeline_model_parallel_size=$TRAIN_PP"
    "$m.context_parallel_size=$TRAIN_CP"
    "$m.expert_model_parallel_size=$TRAIN_EP"
    "$m.expert_tensor_parallel_size=$TRAIN_ETP"
    "$m.param_offload=$OFFLOAD"
    "$m.optimizer_offload=$OFFLOAD"
    # weights between HF and Megatron through mbridge (verl's legacy bridge, which verl 0.9.1 marks
    # deprecated): the path archer tests on CPU (tests/test_aspo_megatron_moe_ep2_matches_fsdp.py); verl's
    # default, Megatron-Bridge, needs transformer-engine even to install and is not tested here
    "$m.use_mbridge=True"
    "$m.vanilla_mbridge=True"
  )
  if [ "$RECOMPUTE" = full ]; then
    ENGINE_OVERRIDES+=(
      "$m.override_transformer_config.recompute_granularity=full"
      "$m.override_transformer_config.recompute_method=uniform"
      "$m.override_transformer_config.recompute_num_layers=1"
    )
  fi
  if [ -n "$MOE_ROUTER_DTYPE" ]; then
    ENGINE_OVERRIDES+=("++$m.override_transformer_config.moe_router_dtype=$MOE_ROUTER_DTYPE")
  fi
  if [ "$OPTIMIZER_CPU_OFFLOAD" = True ]; then
    # Megatron's hybrid CPU optimizer: the fp32 master weights and Adam states stay in host memory
    local o="actor_rollout_ref.actor.optim.override_optimizer_config"
    ENGINE_OVERRIDES+=(
      "++$o.optimizer_cpu_offload=True"
      "++$o.optimizer_offload_fraction=1.0"
      "++$o.overlap_cpu_optimizer_d2h_h2d=True"
      "++$o.use_precision_aware_optimizer=True"
    )
  fi
}

# ---------------------------------------------------------------------------------------------------
# fresh-node checks (real runs only)

aspo_install_hint() {
  local vars="PYTHON=$PYTHON"
  [ "$FLASH_ATTN" = 0 ] && vars="FLASH_ATTN=0 $vars"
  [ "$ENGINE" = megatron ] && vars="MEGATRON=1 $vars"
  local hint="cd $REPO_ROOT && $vars bash scripts/install_gpu.sh"
  if [ "$ASPO_TASK" = code ]; then
    hint+=" && apt-get install -y bubblewrap"
  fi
  echo "$hint"
}

# whether $PYTHON can import a module (found, not imported: importing verl takes seconds)
aspo_has_module() {
  "$PYTHON" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" >/dev/null 2>&1
}

aspo_missing_software() {
  local missing=()
  aspo_has_module verl || missing+=("verl")
  if [ "$ROLLOUT_ENGINE" = vllm ]; then
    aspo_has_module vllm || missing+=("vllm")
    # the GPU stack's attention kernels (FLASH_ATTN=0: sdpa instead)
    if [ "$FLASH_ATTN" = 1 ]; then
      aspo_has_module flash_attn || missing+=("flash-attn (or FLASH_ATTN=0 for sdpa attention)")
    fi
  fi
  if [ "$ENGINE" = megatron ]; then
    # verl's Megatron engine: megatron-core, mbridge and transformer-engine (MEGATRON=1 at install)
    aspo_has_module megatron.core || missing+=("megatron-core (MEGATRON=1 install)")
    aspo_has_module mbridge || missing+=("mbridge (MEGATRON=1 install)")
    aspo_has_module transformer_engine || missing+=("transformer-engine (MEGATRON=1 install)")
  fi
  # Ray workers load archer through verl's plugin entry point: archer must be pip-installed, not just on PYTHONPATH
  "$PYTHON" -c "import sys, importlib.metadata as m; sys.exit(0 if any(e.name == 'archer' for e in m.entry_points(group='verl.plugins')) else 1)" \
    >/dev/null 2>&1 || missing+=("archer (pip install -e .)")
  if [ "$ASPO_TASK" = code ] && ! command -v bwrap >/dev/null 2>&1; then
    missing+=("bubblewrap (the code reward's sandbox)")
  fi
  printf '%s\n' "${missing[@]}"
}

aspo_ensure_software() {
  local missing
  missing=$(aspo_missing_software)
  [ -z "$missing" ] && return 0
  if [ "${ARCHER_AUTO_INSTALL:-0}" != 1 ]; then
    aspo_die "missing on this node: $(echo "$missing" | paste -sd ',' -). Install with:
    $(aspo_install_hint)
  or rerun with ARCHER_AUTO_INSTALL=1 to let this script do it."
  fi
  aspo_log "installing (ARCHER_AUTO_INSTALL=1): $(echo "$missing" | paste -sd ',' -)"
  # torch, then flash-attn without build isolation (or FLASH_ATTN=0), then requirements.txt, then archer
  local megatron=0
  [ "$ENGINE" = megatron ] && megatron=1
  PYTHON="$PYTHON" FLASH_ATTN="$FLASH_ATTN" MEGATRON="$megatron" bash "$REPO_ROOT/scripts/install_gpu.sh" >&2 \
    || aspo_die "pip install failed; run by hand: $(aspo_install_hint)"
  if [ "$ASPO_TASK" = code ] && ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >&2 \
        || aspo_die "apt-get install bubblewrap failed"
    else
      aspo_die "install bubblewrap (needs root): sudo apt-get install -y bubblewrap"
    fi
  fi
  missing=$(aspo_missing_software)
  [ -z "$missing" ] || aspo_die "still missing after installing: $(echo "$missing" | paste -sd ',' -)"
}

# driver vs torch's CUDA, GPU count and memory, disk for the kept checkpoints, model reachable, bwrap
# (python -m archer.launch.preflight; docs/launch.md). PREFLIGHT=0 skips it.
aspo_gpu_preflight() {
  [ "${PREFLIGHT:-1}" = 0 ] && return 0
  local hf_model=()
  case " $* " in *checkpoint.save_contents=*hf_model*) hf_model=(--hf-model) ;; esac
  "$PYTHON" -m archer.launch.preflight --task "$ASPO_TASK" --nnodes "$NNODES" --gpus-per-node "$GPUS_PER_NODE" \
    --model "$MODEL_PATH" --engine "$ENGINE" --ckpt-dir "$CKPT_DIR" --keep "$MAX_CKPT_TO_KEEP" "${hf_model[@]}" \
    || aspo_die "GPU preflight failed (fixes above; PREFLIGHT=0 skips it); nothing was started"
}

aspo_check_ray_cluster() {
  # NNODES>1 runs on an existing Ray cluster (docs/launch.md): RAY_ADDRESS, or the cluster that
  # `ray start --head` started on this node ("auto"). verl's ray.init() then joins it (RAY_ADDRESS is exported).
  export RAY_ADDRESS=${RAY_ADDRESS:-auto}
  aspo_log "checking the Ray cluster at $RAY_ADDRESS: $NNODES nodes x $GPUS_PER_NODE GPUs"
  "$PYTHON" -m archer.launch.ray_check --address "$RAY_ADDRESS" --nodes "$NNODES" \
    --gpus-per-node "$GPUS_PER_NODE" --timeout "$RAY_WAIT_TIMEOUT" \
    || aspo_die "the Ray cluster is not complete (see above); start it as in docs/launch.md"
}

# ---------------------------------------------------------------------------------------------------

aspo_main() {
  local dry_run=0 smoke=0 extra=() python_given=${PYTHON:+1}
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) dry_run=1 ;;
      --smoke) smoke=1 ;;
      -h | --help)
        aspo_usage
        exit 0
        ;;
      --)
        shift
        extra+=("$@")
        break
        ;;
      -*) aspo_die "unknown flag '$1' (hydra overrides have no leading dash; see --help)" ;;
      *) extra+=("$1") ;;
    esac
    shift
  done

  # every setting the environment gives, checked before anything starts (set-up, assets, Ray)
  aspo_check_settings
  if [ "$smoke" = 1 ]; then
    # shellcheck source=scripts/aspo_smoke.sh
    source "$(dirname "${BASH_SOURCE[0]}")/aspo_smoke.sh"
    aspo_smoke_prepare
  fi
  aspo_defaults
  aspo_overrides
  cd "$REPO_ROOT"
  SMOKE_OVERRIDES=()
  [ "$smoke" = 1 ] && aspo_smoke_overrides
  local all=("${OVERRIDES[@]}" "${SMOKE_OVERRIDES[@]}" "${extra[@]}")

  if [ "$dry_run" = 1 ]; then
    # PYTHON unset and python3 without verl: the CPU venv that scripts/test.sh (or --smoke) set up, if any
    if [ -z "$python_given" ] && ! aspo_has_module verl && [ -x "$REPO_ROOT/.venv/bin/python" ]; then
      PYTHON=$REPO_ROOT/.venv/bin/python
      aspo_has_module verl && aspo_log "using $PYTHON (python3 has no verl; set PYTHON to choose)"
    fi
    aspo_has_module verl \
      || aspo_die "verl is not importable by $PYTHON; set up the CPU venv with bash scripts/test.sh (then PYTHON=.venv/bin/python), or install: pip install -r requirements-cpu.txt && pip install -e . --no-deps (CPU) or $(aspo_install_hint)"
    exec "$PYTHON" -m archer.launch.dry_run --task "$ASPO_TASK" "${all[@]}"
  fi

  aspo_ensure_software
  [ "$smoke" = 1 ] || aspo_gpu_preflight "${all[@]}"  # the smoke profile runs on CPU
  mkdir -p "$CKPT_DIR"
  # same checks as --dry-run, but missing data is prepared and the model's config/tokenizer may be fetched
  aspo_log "preflight: config, reward, data (python -m archer.launch.dry_run --preflight)"
  # its stdout is the config; its log lines go through the console filter like the trainer's
  local rc
  set +e
  "$PYTHON" -m archer.launch.dry_run --preflight --task "$ASPO_TASK" "${all[@]}" 2>&1 >"$CKPT_DIR/config.yaml" \
    | "$PYTHON" -m archer.launch.console --log "$CKPT_DIR/train.log"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || aspo_die "preflight failed (see above; full output in $CKPT_DIR/train.log); nothing was started"
  aspo_log "resolved config: $CKPT_DIR/config.yaml"
  if [ "$NNODES" -gt 1 ]; then
    aspo_check_ray_cluster
  fi
  export TENSORBOARD_DIR
  if [ "$smoke" = 1 ]; then
    aspo_smoke_run "${all[@]}"
    return
  fi
  aspo_log "training; checkpoints in $CKPT_DIR (resume_mode=$RESUME_MODE); console: one line per step, everything in $CKPT_DIR/train.log"
  aspo_train -- "${all[@]}"
}

# python -m archer.launch.main ARGS through the console filter (python -m archer.launch.console: one line
# per step, each warning once; everything, without ANSI codes, in $CKPT_DIR/train.log; ARCHER_CONSOLE=full
# shows it all). Ctrl-C: "interrupted at step N; rerun the same command to resume", exit 130.
#   aspo_train [--steps N] -- ARGS
aspo_train() {
  local steps=() interrupted=0 trainer console
  if [ "$1" = --steps ]; then
    steps=(--steps "$2")
    shift 2
  fi
  shift  # --
  trap 'interrupted=1' INT
  set +e
  "$PYTHON" -m archer.launch.main "$@" 2>&1 \
    | "$PYTHON" -m archer.launch.console --log "$CKPT_DIR/train.log" --ckpt-dir "$CKPT_DIR" "${steps[@]}"
  trainer=${PIPESTATUS[0]} console=${PIPESTATUS[1]}
  set -e
  trap - INT
  if [ "$interrupted" = 1 ] || [ "$trainer" = 130 ] || [ "$console" = 130 ]; then
    # the console filter said where to resume from, unless the trainer died before it could say so
    [ "$console" = 130 ] || aspo_log "interrupted; rerun the same command to resume from the last checkpoint in $CKPT_DIR"
    exit 130
  fi
  [ "$trainer" = 0 ] || aspo_die "training failed (exit $trainer); see the error above and $CKPT_DIR/train.log"
}
