"""The driver and CLI side of archer: compose the config, check it (dry run, preflight, Ray cluster),
refuse to mix runs, and start verl's trainer (:mod:`archer.launch.main`). Nothing here runs inside verl's
worker processes; that is :mod:`archer.plugin`."""

from pathlib import Path

# the hydra config the trainer entry point and the dry run compose
CONFIG_DIR = Path(__file__).resolve().parent / "config"
CONFIG_NAME = "aspo_trainer"
