"""`python -m flanjax.train`: the command lives in `flanjax.cli.train`."""

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.train")
