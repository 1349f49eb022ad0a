"""`python -m flanjax.data.export`: the command lives in `flanjax.cli.export_data`."""

if __name__ == "__main__":
    from flanjax.cli import runner

    runner.run("flanjax.cli.export_data")
