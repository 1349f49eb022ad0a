"""`python -m flanjax.eval`: the command lives in `flanjax.cli.evaluate`.

Gin files bind `flanjax.eval.evaluate.*` (`import flanjax.eval` registers it).
"""

from flanjax.cli import gin_setup as _gin_setup

_gin_setup.register_configurables("evaluate")

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.evaluate")
