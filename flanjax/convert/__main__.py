"""`python -m flanjax.convert`: the command lives in `flanjax.cli.convert`."""

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.convert")
