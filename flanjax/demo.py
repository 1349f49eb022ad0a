"""`python -m flanjax.demo`: the command lives in `flanjax.cli.demo`."""

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.demo")
