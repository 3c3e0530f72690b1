"""Export of verl actor checkpoints to Hugging Face format for release (``python -m archer.export``).

``export_checkpoint(checkpoint_dir, out_dir, *, verify=True, **options) -> Path`` merges the FSDP
shards with verl's own model merger, writes safetensors + config + tokenizer + generation config,
verifies tensors and logits against the shards, and writes a model card. See docs/export.md.
"""

from .errors import ExportError, VerificationError
from .export import export_checkpoint

__all__ = ["ExportError", "VerificationError", "export_checkpoint"]
