"""`python -m flanjax.contamination`: the command lives in `flanjax.cli.contamination`."""

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.contamination")
