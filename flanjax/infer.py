"""`python -m flanjax.infer`: the command lives in `flanjax.cli.infer`.

Gin files bind `flanjax.infer.infer.*` (`import flanjax.infer` registers it).
"""

from flanjax.cli import gin_setup as _gin_setup

_gin_setup.register_configurables("infer")

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.infer")
