"""`python -m flanjax.data.inspect`: the command lives in `flanjax.cli.inspect_data`."""

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.inspect_data")
