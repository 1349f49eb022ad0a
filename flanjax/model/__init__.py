"""The T5 encoder-decoder network, its config, decoding and scoring."""

from flanjax.model.checks import check_token_ids
from flanjax.model.config import T5Config, flops_per_token, make_config
from flanjax.model.decoding import generate
from flanjax.model.network import T5, abstract_params, init_params
from flanjax.model.scoring import score, score_options

__all__ = [
    "T5",
    "T5Config",
    "abstract_params",
    "check_token_ids",
    "flops_per_token",
    "generate",
    "init_params",
    "make_config",
    "score",
    "score_options",
]
