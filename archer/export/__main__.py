"""CLI: ``python -m archer.export CHECKPOINT_DIR OUT_DIR [options]`` (see docs/export.md)."""

from __future__ import annotations

import argparse
import sys

from archer.log import setup_logging

from .verify import BF16_RTOL, DEFAULT_PROMPT, LOGITS_ATOL

EPILOG = f"""
what is verified (default; --no-verify skips it):
  tensors  every exported tensor vs. the tensor merged here from the shard files, independently of
           verl: same names and shapes, |exported - shards| <= {BF16_RTOL} * |shards| (bf16 rounding)
  logits   the reloaded export vs. a model built from the shard tensors, on a fixed prompt:
           max |diff| <= {LOGITS_ATOL}
exit status: 0 success, 1 verification failed (OUT_DIR holds EXPORT_FAILED.txt), 2 bad input.
The hub token is read from the environment (HF_TOKEN) and never printed.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m archer.export",
        description="Export a verl actor checkpoint (.../global_step_N/actor) to a verified Hugging Face model dir "
        "(safetensors, config, tokenizer, generation config, model card), optionally uploading it to the Hub.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint_dir",
                        help="verl checkpoint, in any form archer.eval takes: checkpoints/P/E/global_step_500/actor, "
                        "its global_step_500 dir, or the run dir checkpoints/P/E (its latest checkpoint)")
    parser.add_argument("out_dir", help="output dir for the Hugging Face model (must be new or empty)")
    parser.add_argument("--backend", choices=("fsdp", "megatron"), default="fsdp",
                        help="checkpoint format (default fsdp; megatron is passed to verl's merger, untested here, "
                        "and needs --no-verify)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the tensor and logits checks (an unverified export cannot be uploaded)")
    parser.add_argument("--verify-prompt", default=DEFAULT_PROMPT, help="prompt of the logits check")
    parser.add_argument("--verify-dtype", choices=("float32", "bfloat16"), default="float32",
                        help="compute dtype of the logits check (bfloat16 halves its memory; default float32)")
    parser.add_argument("--hf-config-dir", default=None,
                        help="dir with config.json + tokenizer to use instead of the checkpoint's huggingface/")
    parser.add_argument("--base-model", default=None,
                        help="base model (hub id or local dir) named in the model card; also the source of "
                        "generation_config.json when the checkpoint has none")
    parser.add_argument("--config", default=None,
                        help="the run's resolved config (hydra's .hydra/config.yaml) for the model card; default: "
                        "searched next to the checkpoint")
    parser.add_argument("--eval-table", default=None,
                        help="eval results for the model card: archer.eval's summary.json, a table.md, or their dir")
    parser.add_argument("--license", default=None, help="license id for the model card metadata, e.g. apache-2.0")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", default=None,
                        help="upload OUT_DIR to this Hub repo after a successful verification")
    parser.add_argument("--private", action="store_true", help="create the Hub repo as private")
    parser.add_argument("--overwrite", action="store_true", help="delete and rewrite a non-empty OUT_DIR")
    parser.add_argument("--trust-remote-code", action="store_true", help="allow custom model code (passed to verl)")
    parser.add_argument("--tie-word-embedding", action="store_true", help="megatron only (passed to verl)")
    parser.add_argument("--use-cpu-initialization", action="store_true", help="megatron only (passed to verl)")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    return parser


def main(argv=None) -> int:
    """Exit status (every archer command, archer/cli.py): 0 done, 1 the work failed, 2 bad input, 130 Ctrl-C."""
    from archer.cli import run

    return run(_main, "archer.export", argv)


def _main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    log = setup_logging("archer.export", quiet=args.quiet)
    from . import export_checkpoint

    if args.private and not args.push_to_hub:
        log.error("--private only applies with --push-to-hub REPO_ID")
        return 2
    # ExportError: exit 2, VerificationError: exit 1 (archer.cli)
    out = export_checkpoint(
        args.checkpoint_dir, args.out_dir, verify=args.verify, backend=args.backend,
        hf_config_dir=args.hf_config_dir, base_model=args.base_model, config=args.config,
        eval_table=args.eval_table, push_to_hub=args.push_to_hub, private=args.private,
        overwrite=args.overwrite, verify_prompt=args.verify_prompt, verify_dtype=args.verify_dtype,
        trust_remote_code=args.trust_remote_code, tie_word_embedding=args.tie_word_embedding,
        use_cpu_initialization=args.use_cpu_initialization, license=args.license,
    )
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
