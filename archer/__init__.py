"""archer: ASPO (Asymmetric Importance Sampling Policy Optimization) on verl.

Importing ``archer`` is cheap and does not import verl. The verl integration lives in
``archer.plugin`` and is loaded automatically by ``import verl`` through the
``verl.plugins`` entry point.
"""

__version__ = "0.1.0"
