"""What verl 0.9.1's Megatron engine needs from outside verl / megatron-core / mbridge to run on a CPU.

Used only by ``tests/megatron_moe_step.py``, the rank processes of
``test_aspo_megatron_moe_ep2_matches_fsdp.py``. Nothing here changes verl's, megatron-core's or mbridge's
files: each patch rebinds one function or class attribute in the running process, and its docstring names
what it replaces and why.

PROCESS-GLOBAL. :func:`install_cuda_to_cpu_shim` enters a ``TorchFunctionMode`` for the rest of the
process and replaces functions of ``torch.cuda`` itself: every later tensor call in the process goes
through it. Apply these patches only in a process of their own, started for this purpose; never import
this module into pytest's process or beside another test. :func:`apply_cpu_patches` refuses to run where
pytest is loaded.

Written against megatron-core 0.16.1 and mbridge 0.15.1 (``requirements-megatron-cpu.txt``), used with
megatron's *local* layer spec (no transformer-engine), ``moe_grouped_gemm=false`` (experts are
``SequentialMLP``), ``attention_backend=local``, TP=1 and verl's bshd path (``use_remove_padding=false``).
"""

from __future__ import annotations

import contextlib
import re
import sys

APPLIED: list[str] = []


def apply_cpu_patches() -> list[str]:
    """Apply every patch below once; returns the list of what was patched (for the run's log)."""
    if APPLIED:
        return APPLIED
    if "pytest" in sys.modules or "_pytest" in sys.modules:
        raise RuntimeError(
            "megatron_cpu_support patches the whole process (torch.cuda, a global TorchFunctionMode): "
            "apply them only in a rank process of their own, never inside pytest"
        )
    install_cuda_to_cpu_shim()
    run_jit_fused_functions_eagerly()
    register_megatron_engine_for_cpu()
    use_local_layer_spec_in_mbridge()
    use_cpu_rng_tracker()
    map_local_spec_layernorm_names()
    map_sequential_mlp_expert_names()
    mask_padding_in_local_attention()
    bind_missing_te_general_gemm()
    give_gloo_split_sizes_as_numpy()
    return APPLIED


# ---------------------------------------------------------------------------------------------------
# torch.cuda -> CPU


def _is_cuda_device(device) -> bool:
    import torch

    if isinstance(device, bool):
        return False
    if isinstance(device, int):  # a bare index means a CUDA device to torch
        return True
    if isinstance(device, str):
        return device.startswith("cuda")
    if isinstance(device, torch.device):
        return device.type == "cuda"
    return False


class _NoStream:
    """Stands in for ``torch.cuda.Stream``: CPU work is synchronous, so waiting is a no-op."""

    def __init__(self, *args, **kwargs):
        pass

    def wait_stream(self, *args, **kwargs):
        pass

    def wait_event(self, *args, **kwargs):
        pass

    def synchronize(self):
        pass

    def record_event(self, *args, **kwargs):
        return _NoEvent()


class _NoEvent:
    """Stands in for ``torch.cuda.Event``: always complete, zero elapsed time."""

    def __init__(self, *args, **kwargs):
        pass

    def record(self, *args, **kwargs):
        pass

    def wait(self, *args, **kwargs):
        pass

    def synchronize(self):
        pass

    def query(self):
        return True

    def elapsed_time(self, other):
        return 0.0


def install_cuda_to_cpu_shim() -> None:
    """Route megatron-core's hard-coded CUDA calls to the CPU, for the whole process.

    megatron-core (about 70 of its files) allocates with ``device=torch.cuda.current_device()`` or
    ``"cuda"``, moves tensors with ``.cuda()``, creates streams and events, queries memory, and its
    optimizer wrappers sort parameters by ``param.type()`` (``"torch.cuda.FloatTensor"`` etc.). On a
    CPU-only torch each of those raises.

    * A ``TorchFunctionMode``, entered and never left, rewrites a CUDA ``device=`` argument (``"cuda"``,
      ``"cuda:i"``, ``torch.device("cuda")``, a bare index) of any torch function to the CPU, does the
      same for the positional device of ``Tensor.to``, makes ``Tensor.cuda()`` return the tensor itself,
      and makes ``Tensor.type()`` answer ``torch.cuda.*Tensor`` (the names those wrappers accept).
    * ``torch.cuda.current_device`` returns the CPU device (an object rather than an index: code inside
      ``autograd.Function.forward`` runs outside the mode, and an index would mean CUDA there);
      ``synchronize``, ``empty_cache``, ``Stream``, ``stream``, ``current_stream``, ``default_stream``,
      ``Event`` and the memory queries become no-ops.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    cpu = torch.device("cpu")

    class CudaToCpu(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = dict(kwargs or {})
            if _is_cuda_device(kwargs.get("device")):
                kwargs["device"] = cpu
            if func is torch.Tensor.cuda:
                return args[0]
            if func is torch.Tensor.type and len(args) == 1 and not kwargs:
                name = func(*args)
                return name if ".cuda." in name else name.replace("torch.", "torch.cuda.", 1)
            if func is torch.Tensor.to:
                args = tuple(cpu if i > 0 and _is_cuda_device(a) else a for i, a in enumerate(args))
            return func(*args, **kwargs)

    CudaToCpu().__enter__()  # for the rest of the process, by design (see the module docstring)

    stream = _NoStream()
    torch.cuda.current_device = lambda: cpu
    torch.cuda.synchronize = lambda *a, **k: None
    torch.cuda.empty_cache = lambda *a, **k: None
    torch.cuda.Stream = _NoStream
    torch.cuda.Event = _NoEvent
    torch.cuda.stream = lambda *a, **k: contextlib.nullcontext()
    torch.cuda.current_stream = lambda *a, **k: stream
    torch.cuda.default_stream = lambda *a, **k: stream
    torch.cuda.memory_allocated = lambda *a, **k: 0
    torch.cuda.max_memory_allocated = lambda *a, **k: 0
    torch.cuda.memory_reserved = lambda *a, **k: 0
    APPLIED.append("torch.cuda stand-ins and a process-wide CUDA->CPU TorchFunctionMode")


def run_jit_fused_functions_eagerly() -> None:
    """Turn ``torch.compile`` off for the process (``torch._dynamo.config.disable``).

    megatron-core decorates small elementwise functions with ``megatron.core.jit.jit_fuser``, which is
    ``torch.compile`` on torch >= 2.2: RMSNorm's ``_norm``, the experts' SwiGLU, router helpers. On a CPU
    each is compiled by inductor on its first call, about 20 s of a fresh run on two cores (less once
    inductor's on-disk cache is warm), for kernels that compute what the eager functions compute. Dynamo
    reads this flag when it meets a frame, so the decorated functions then run as plain Python.
    """
    import torch._dynamo

    torch._dynamo.config.disable = True
    APPLIED.append("torch._dynamo.config.disable = True (megatron's jit_fuser functions run eagerly)")


# ---------------------------------------------------------------------------------------------------
# verl


def register_megatron_engine_for_cpu() -> None:
    """Register verl's ``MegatronEngineWithLMHead`` for device "cpu" in verl's ``EngineRegistry``.

    ``verl/workers/engine/megatron/transformer_impl.py`` registers it with the decorator's default device
    "cuda" only, so ``EngineRegistry.new(backend="megatron")`` finds nothing on archer's CPU platform
    (installed first with ``verl_cpu_support.use_cpu_platform``).
    """
    from verl.workers.engine import EngineRegistry
    from verl.workers.engine.megatron.transformer_impl import MegatronEngineWithLMHead

    try:
        EngineRegistry.get_engine_cls("language_model", "megatron")
    except ValueError:
        EngineRegistry.register(model_type="language_model", backend="megatron", device="cpu")(
            MegatronEngineWithLMHead
        )
    APPLIED.append("verl EngineRegistry: language_model/megatron on device cpu -> MegatronEngineWithLMHead")


# ---------------------------------------------------------------------------------------------------
# mbridge


def use_local_layer_spec_in_mbridge() -> None:
    """Replace ``get_gpt_decoder_block_spec`` as ``mbridge.core.llm_bridge`` sees it.

    ``LLMBridge._get_transformer_layer_spec`` calls megatron's ``get_gpt_decoder_block_spec`` with
    ``use_transformer_engine=True`` hard-coded; transformer-engine is a CUDA library. The replacement
    asks for megatron's local (plain torch) modules instead.
    """
    import mbridge.core.llm_bridge as llm_bridge
    from megatron.core.models.gpt.gpt_layer_specs import get_gpt_decoder_block_spec

    def local_block_spec(config, use_transformer_engine=True, **kwargs):
        return get_gpt_decoder_block_spec(config, use_transformer_engine=False, **kwargs)

    llm_bridge.get_gpt_decoder_block_spec = local_block_spec
    APPLIED.append("mbridge llm_bridge.get_gpt_decoder_block_spec -> megatron's local layer spec")


_LAYERNORM_NAME = re.compile(r"^decoder\.layers\.(\d+)\.(input_layernorm|pre_mlp_layernorm)\.weight$")
_LOCAL_EXPERT = re.compile(r"\.mlp\.experts\.local_experts\.(\d+)\.")
_LOCAL_EXPERT_WEIGHT = re.compile(
    r"^decoder\.layers\.(\d+)\.mlp\.experts\.local_experts\.(\d+)\.linear_fc([12])\.weight$"
)


def map_local_spec_layernorm_names() -> None:
    """Wrap mbridge's ``Bridge._weight_name_mapping_mcore_to_hf`` for the local spec's norm modules.

    With transformer-engine the pre-attention norm is fused into ``linear_qkv`` (its
    ``layer_norm_weight``), which is the name mbridge maps to ``input_layernorm``. The local spec keeps it
    as a module of its own, ``decoder.layers.L.input_layernorm.weight``, which mbridge rejects as
    unsupported. Map it (and ``pre_mlp_layernorm``, the pre-MLP norm) to the HF names.
    """
    from mbridge.core.bridge import Bridge

    original = Bridge._weight_name_mapping_mcore_to_hf

    def mapping(self, name):
        match = _LAYERNORM_NAME.match(name)
        if match:
            layer, which = match.groups()
            hf = "input_layernorm" if which == "input_layernorm" else "post_attention_layernorm"
            return [f"model.layers.{layer}.{hf}.weight"]
        return original(self, name)

    Bridge._weight_name_mapping_mcore_to_hf = mapping
    APPLIED.append("mbridge Bridge._weight_name_mapping_mcore_to_hf: local-spec input/pre-MLP norm names")


def map_sequential_mlp_expert_names() -> None:
    """Wrap mbridge's ``Bridge`` name mappings for megatron's ``SequentialMLP`` experts.

    Without transformer-engine (and without the CUDA-only grouped_gemm package) the experts of a MoE layer
    are megatron's ``SequentialMLP``: parameters ``...mlp.experts.local_experts.{i}.linear_fc{1,2}.weight``,
    ``i`` counting this rank's experts. mbridge knows only ``TEGroupedMLP``'s
    ``...mlp.experts.linear_fc{1,2}.weight{i}``.

    * ``_weight_name_mapping_mcore_local_to_global``: with expert parallelism, renumber a local expert to
      its global id (rank ``ep_rank`` holds experts ``ep_rank * E / EP`` .. ``(ep_rank + 1) * E / EP - 1``,
      as megatron places them), which mbridge does only for the grouped names;
    * ``_weight_name_mapping_mcore_to_hf``: map expert ``g``'s ``linear_fc1`` to HF's
      ``mlp.experts.g.gate_proj`` + ``up_proj`` and ``linear_fc2`` to ``down_proj``.
    """
    from mbridge.core.bridge import Bridge

    original_local_to_global = Bridge._weight_name_mapping_mcore_local_to_global
    original_to_hf = Bridge._weight_name_mapping_mcore_to_hf

    def local_to_global(self, model, consider_ep=True):
        names = original_local_to_global(self, model, consider_ep=consider_ep)
        if consider_ep and self.mpu.ep_size > 1:
            per_rank = self.config.num_moe_experts // self.mpu.ep_size
            for local, global_name in names.items():
                match = _LOCAL_EXPERT.search(global_name)
                if match:
                    expert = int(match.group(1)) + per_rank * self.mpu.ep_rank
                    names[local] = _LOCAL_EXPERT.sub(f".mlp.experts.local_experts.{expert}.", global_name)
        return names

    def to_hf(self, name):
        match = _LOCAL_EXPERT_WEIGHT.match(name)
        if match:
            layer, expert, fc = match.groups()
            prefix = f"model.layers.{layer}.mlp.experts.{expert}"
            if fc == "1":
                return [f"{prefix}.gate_proj.weight", f"{prefix}.up_proj.weight"]
            return [f"{prefix}.down_proj.weight"]
        return original_to_hf(self, name)

    Bridge._weight_name_mapping_mcore_local_to_global = local_to_global
    Bridge._weight_name_mapping_mcore_to_hf = to_hf
    APPLIED.append("mbridge Bridge name mappings: SequentialMLP local_experts (EP local->global id, HF names)")


# ---------------------------------------------------------------------------------------------------
# megatron-core


def use_cpu_rng_tracker() -> None:
    """Replace megatron's ``model_parallel_cuda_manual_seed`` with one that tracks CPU generator states.

    verl's ``set_random_seed`` (``verl/workers/engine/megatron/utils.py``) calls
    ``megatron.core.tensor_parallel.model_parallel_cuda_manual_seed``, which seeds a
    ``CudaRNGStatesTracker`` through ``torch.cuda.manual_seed`` / ``get_rng_state``; model construction
    then forks that tracker (``get_cuda_rng_tracker().fork()``). The replacement installs a tracker of the
    same class whose ``add`` and ``fork`` save and restore the CPU generator, seeded with megatron's own
    per-rank offsets (data-parallel, tensor-parallel, expert-parallel).
    """
    import torch
    from megatron.core import parallel_state as mpu
    from megatron.core import tensor_parallel
    from megatron.core.tensor_parallel import random as mrandom

    class CpuRNGStatesTracker(mrandom.CudaRNGStatesTracker):
        def add(self, name, seed):
            self._is_initialized = True
            if seed in self.seeds_:
                raise Exception(f"seed {seed} already exists")
            if name in self.states_:
                raise Exception(f"rng state {name} already exists")
            self.seeds_.add(seed)
            saved = torch.get_rng_state()
            torch.manual_seed(seed)
            self.states_[name] = torch.get_rng_state()
            torch.set_rng_state(saved)

        @contextlib.contextmanager
        def fork(self, name=mrandom._MODEL_PARALLEL_RNG_TRACKER_NAME):
            if name not in self.states_:
                raise Exception(f"rng state {name} is not added")
            saved = torch.get_rng_state()
            torch.set_rng_state(self.states_[name])
            try:
                yield
            finally:
                self.states_[name] = torch.get_rng_state()
                torch.set_rng_state(saved)

    def cpu_model_parallel_manual_seed(seed, *args, **kwargs):
        tracker = CpuRNGStatesTracker()
        mrandom._CUDA_RNG_STATE_TRACKER = tracker
        mrandom._CUDA_RNG_STATE_TRACKER_INITIALIZED = True
        torch.manual_seed(seed)
        tp_rank = mpu.get_tensor_model_parallel_rank()
        ep_rank = mpu.get_expert_model_parallel_rank()
        etp_rank = mpu.get_expert_tensor_parallel_rank()
        tracker.add(mrandom._DATA_PARALLEL_RNG_TRACKER_NAME, seed)
        tracker.add(mrandom._MODEL_PARALLEL_RNG_TRACKER_NAME, seed + 2718 + tp_rank)
        tracker.add(mrandom._EXPERT_PARALLEL_RNG_TRACKER_NAME, seed + 1024 + 100 * ep_rank + etp_rank)

    tensor_parallel.model_parallel_cuda_manual_seed = cpu_model_parallel_manual_seed
    mrandom.model_parallel_cuda_manual_seed = cpu_model_parallel_manual_seed
    APPLIED.append("megatron tensor_parallel.model_parallel_cuda_manual_seed -> CPU RNG tracker")


def mask_padding_in_local_attention() -> None:
    """Wrap megatron's local ``DotProductAttention.forward`` to turn verl's padding mask into its mask.

    On the bshd path (``use_remove_padding=false``) verl hands the model a ``[b, s]`` boolean mask, True
    at real tokens: the form transformer-engine's attention takes. The local ``DotProductAttention``
    expects a ``[b, 1, sq, sk]`` mask, True where attention is *forbidden*, and, once given any mask,
    builds no causal mask of its own. Given a 2-D mask, the wrapper passes the causal mask combined with
    the key padding instead.
    """
    import torch
    from megatron.core.transformer.dot_product_attention import DotProductAttention

    original = DotProductAttention.forward

    def forward(self, query, key, value, attention_mask, *args, **kwargs):
        if attention_mask is not None and attention_mask.dim() == 2:
            valid = attention_mask.bool()
            length = valid.shape[1]
            causal = torch.ones(length, length, dtype=torch.bool, device=valid.device).tril()
            attention_mask = ~(causal[None, None] & valid[:, None, None, :])
        return original(self, query, key, value, attention_mask, *args, **kwargs)

    DotProductAttention.forward = forward
    APPLIED.append("megatron DotProductAttention.forward: [b, s] padding mask -> [b, 1, s, s] causal + padding")


def bind_missing_te_general_gemm() -> None:
    """Bind ``megatron.core.transformer.moe.moe_utils.te_general_gemm = None`` when it is missing.

    megatron-core 0.16.1 imports ``te_general_gemm`` only when transformer-engine imports, yet the router's
    ``RouterGatingLinearFunction`` reads the name unconditionally (``if te_general_gemm is not None``):
    without transformer-engine that is a NameError. None selects its plain ``torch.mm`` branch.
    """
    import megatron.core.transformer.moe.moe_utils as moe_utils

    if not hasattr(moe_utils, "te_general_gemm"):
        moe_utils.te_general_gemm = None
        APPLIED.append("megatron moe_utils.te_general_gemm = None (no transformer-engine)")


def give_gloo_split_sizes_as_numpy() -> None:
    """Wrap ``maybe_move_tensor_to_cpu`` as megatron's MoE token dispatcher sees it.

    The all-to-all token dispatcher (EP > 1) computes per-rank split sizes as tensors and converts them
    with ``maybe_move_tensor_to_cpu(..., as_numpy=True)``, which converts only CUDA tensors. CPU split
    tensors then reach ``torch.distributed.all_to_all_single``, whose gloo binding takes a sequence of
    ints, not a tensor. The wrapper converts CPU tensors to numpy too when ``as_numpy`` is asked for.
    """
    import megatron.core.transformer.moe.moe_utils as moe_utils
    import megatron.core.transformer.moe.token_dispatcher as token_dispatcher
    import torch

    original = moe_utils.maybe_move_tensor_to_cpu

    def move(tensor, as_numpy=False, record_stream=False):
        if as_numpy and torch.is_tensor(tensor) and not tensor.is_cuda:
            return tensor.numpy()
        return original(tensor, as_numpy=as_numpy, record_stream=record_stream)

    token_dispatcher.maybe_move_tensor_to_cpu = move
    moe_utils.maybe_move_tensor_to_cpu = move
    APPLIED.append("megatron moe token_dispatcher.maybe_move_tensor_to_cpu: CPU split sizes -> numpy")
