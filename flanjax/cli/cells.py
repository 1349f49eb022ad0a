"""The grid's runs, each `python -m flanjax.train` run in this process.

`flanjax.experiments` builds every cell of a grid or sweep as the argument list of
`python -m flanjax.train` (`commands.Cell.argv`); `GIN_CELLS` runs that list through the
train command's own `main` (the same flag parsing, gin parse, checks, operative config in
MODEL_DIR, and trainer), with a clean gin configuration before and after each cell.
"""

from __future__ import annotations

from typing import Sequence

from flanjax.cli import gin_setup, runner


class CellFailed(runner.UsageError):
    """A cell's train command ended with a non-zero status (its own error line came first)."""


class GinCells:
    """`flanjax.experiments.grid.CellRunner` through the train command."""

    def train(self, argv: Sequence[str]) -> None:
        import gin  # pylint: disable=g-import-not-at-top

        from flanjax.cli import train  # pylint: disable=g-import-not-at-top

        gin.clear_config()
        try:
            code = train.main(list(argv))
        finally:
            gin.clear_config()
        if code != runner.EXIT_OK:
            raise CellFailed(f"python -m flanjax.train ended with status {code}: "
                             f"{' '.join(argv)}")

    def lengths(self, argv: Sequence[str]) -> dict[str, int]:
        """TASK_FEATURE_LENGTHS as `python -m flanjax.train argv` would set it (parse only)."""
        return dict(self.macros(argv, ("TASK_FEATURE_LENGTHS",))["TASK_FEATURE_LENGTHS"])

    def macros(self, argv: Sequence[str], names: Sequence[str]) -> dict:
        import gin  # pylint: disable=g-import-not-at-top

        bindings, args = gin_setup.parse_command_line(
            list(argv), "python -m flanjax.train", None, runner.add_distributed_flags)
        gin_setup.register_configurables("train")
        gin.clear_config()
        try:
            gin_setup.parse_gin(args.gin_file, bindings, args.gin_search_paths)
            return {n: gin_setup.macro_value(n) for n in names}
        finally:
            gin.clear_config()


GIN_CELLS = GinCells()
