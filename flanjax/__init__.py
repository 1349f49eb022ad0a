"""flanjax: instruction tuning (FLAN, T0, Super-NaturalInstructions, Flan 2022) in JAX/Flax."""

__version__ = "0.1.0"

# With the `aot` extra (libtpu) on a host without TPU chips, JAX runs on the CPU, quietly.
from flanjax import hostmem as _hostmem  # noqa: E402

_hostmem.default_to_cpu_without_tpu()
