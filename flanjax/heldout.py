"""`python -m flanjax.heldout`: the command lives in `flanjax.cli.heldout`."""

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.heldout")
