"""`python -m flanjax.convert --from_t5x` / `--to_t5x` (the flags live in `flanjax.cli.convert`)."""

from __future__ import annotations

import os


def from_t5x(source: str, out: str, *, step: int | None, scan_layers: bool) -> None:
    """A T5X checkpoint -> a converted flanjax checkpoint recording T5X's step."""
    from flanjax.checkpoints import save_flanjax_checkpoint  # pylint: disable=g-import-not-at-top
    from flanjax.convert.t5x import load_t5x  # pylint: disable=g-import-not-at-top

    config, params, t5x_step = load_t5x(source, step=step, scan_layers=scan_layers)
    save_flanjax_checkpoint(config, params, out, step=t5x_step)
    print(f"imported T5X step {t5x_step}: {config.num_encoder_layers}+{config.num_decoder_layers} layers, "
          f"d_model {config.d_model}, vocab {config.vocab_size}, {config.feed_forward_proj}")


def to_t5x(source: str, out: str, *, step: int | None) -> None:
    """A converted checkpoint, training run or Hugging Face directory -> out/checkpoint_{step}."""
    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top
    from flanjax.convert.t5x import model_gin, save_t5x  # pylint: disable=g-import-not-at-top

    path = os.path.abspath(os.path.expanduser(source))
    config, params = checkpoints.load_model(path, step=step)
    if os.path.isdir(os.path.join(path, checkpoints.CHECKPOINTS_SUBDIR)):
        number = checkpoints.resolve_step(path, step)  # the run's step, as T5X counts it
    else:
        number = checkpoints.converted_step(path) or 0
    folder = os.path.join(out, f"checkpoint_{number}")
    if os.path.exists(folder):
        raise ValueError(f"{folder} exists already; T5X never overwrites a step: choose a new --out")
    written = save_t5x(config, params, out, step=number)
    with open(os.path.join(out, "model.gin"), "w") as f:
        f.write(model_gin(config))
    print(f"exported {path} as T5X step {number}: {written} (restore with "
          f"--gin.INITIAL_CHECKPOINT_PATH={written} and {os.path.join(out, 'model.gin')})")
