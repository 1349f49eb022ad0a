"""flanjax: instruction tuning (FLAN, T0, Super-NaturalInstructions, Flan 2022) in JAX/Flax."""

__version__ = "0.1.0"
