"""Hugging Face `T5ForConditionalGeneration` <-> flanjax parameters, via safetensors only.

Torch `nn.Linear` weights are stored [out, in]; flanjax kernels are [in, out] with the
attention heads split out ([embed, heads, kv] and [heads, kv, embed]). The relative
position table lives in block 0 of each Hugging Face stack and at stack level here.
Pickled checkpoints (`pytorch_model.bin`) are refused: unpickling runs arbitrary code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from flanjax.model.config import T5Config

CONFIG_NAME = "config.json"
SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_INDEX_NAME = "model.safetensors.index.json"
_PICKLE_NAMES = (
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
    "tf_model.h5",
    "flax_model.msgpack",
)
# Present in some checkpoints, derived from others (tied) or unused by T5.
_IGNORED_KEYS = (
    "encoder.embed_tokens.weight",
    "decoder.embed_tokens.weight",
    "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",
)
_REQUIRED_FIELDS = ("d_model", "d_kv", "d_ff", "num_heads", "num_layers", "vocab_size")

Path = tuple[str, ...]


# -- config ----------------------------------------------------------------------------


def config_from_hf(hf: dict[str, Any], *, tied: bool, **overrides: Any) -> T5Config:
    """A T5Config from a `config.json` dict; `tied` says whether `lm_head` is absent."""
    model_type = hf.get("model_type")
    if model_type not in ("t5", "mt5"):
        raise ValueError(
            f"config.json has model_type={model_type!r}; only T5 encoder-decoders "
            "(model_type 't5' or 'mt5') can be converted"
        )
    missing = [f for f in _REQUIRED_FIELDS if f not in hf]
    if missing:
        raise ValueError(f"config.json lacks the T5 fields {missing}")
    proj = hf.get("feed_forward_proj", "relu")
    if proj == "gated-gelu_new":
        proj = "gated-gelu"
    # Original T5 scales the decoder output when tied; transformers>=5 records the choice
    # as `scale_decoder_outputs`, older versions imply it by `tie_word_embeddings`.
    scale = hf.get("scale_decoder_outputs", hf.get("tie_word_embeddings", True))
    values: dict[str, Any] = dict(
        vocab_size=hf["vocab_size"],
        d_model=hf["d_model"],
        d_kv=hf["d_kv"],
        d_ff=hf["d_ff"],
        num_heads=hf["num_heads"],
        num_encoder_layers=hf["num_layers"],
        num_decoder_layers=hf.get("num_decoder_layers") or hf["num_layers"],
        relative_attention_num_buckets=hf.get("relative_attention_num_buckets", 32),
        relative_attention_max_distance=hf.get("relative_attention_max_distance", 128),
        dropout_rate=hf.get("dropout_rate", 0.1),
        layer_norm_epsilon=hf.get("layer_norm_epsilon", 1e-6),
        feed_forward_proj=proj,
        tie_word_embeddings=tied,
        scale_decoder_outputs=bool(scale),
        pad_id=hf.get("pad_token_id", 0) or 0,
        eos_id=_first(hf.get("eos_token_id", 1)),
        decoder_start_id=hf.get("decoder_start_token_id", 0) or 0,
    )
    values.update(overrides)
    return T5Config(**values)


def _first(value: Any) -> int:
    return int(value[0]) if isinstance(value, (list, tuple)) else int(value)


def config_to_hf(config: T5Config) -> dict[str, Any]:
    return {
        "architectures": ["T5ForConditionalGeneration"],
        "model_type": "t5",
        "vocab_size": config.vocab_size,
        "d_model": config.d_model,
        "d_kv": config.d_kv,
        "d_ff": config.d_ff,
        "num_heads": config.num_heads,
        "num_layers": config.num_encoder_layers,
        "num_decoder_layers": config.num_decoder_layers,
        "relative_attention_num_buckets": config.relative_attention_num_buckets,
        "relative_attention_max_distance": config.relative_attention_max_distance,
        "dropout_rate": config.dropout_rate,
        "layer_norm_epsilon": config.layer_norm_epsilon,
        "initializer_factor": 1.0,
        "feed_forward_proj": config.feed_forward_proj,
        "tie_word_embeddings": config.tie_word_embeddings,
        "scale_decoder_outputs": bool(config.scale_decoder_outputs),
        "is_encoder_decoder": True,
        "use_cache": True,
        "pad_token_id": config.pad_id,
        "eos_token_id": config.eos_id,
        "decoder_start_token_id": config.decoder_start_id,
        "dtype": "float32",
    }


# -- the name map --------------------------------------------------------------------------

# A transform maps an HF array to a flanjax array; `shape` maps the flanjax shape back to
# the HF shape (for error messages and export).
_Transform = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]


def _identity() -> _Transform:
    return (lambda a: a, lambda a: a)


def _transpose() -> _Transform:
    return (lambda a: a.T, lambda a: a.T)


def _qkv(heads: int, d_kv: int) -> _Transform:
    # HF [heads * kv, embed] <-> flanjax [embed, heads, kv]
    return (
        lambda a: a.T.reshape(a.shape[1], heads, d_kv),
        lambda a: a.reshape(a.shape[0], heads * d_kv).T,
    )


def _out(heads: int, d_kv: int) -> _Transform:
    # HF [embed, heads * kv] <-> flanjax [heads, kv, embed]
    return (
        lambda a: a.T.reshape(heads, d_kv, a.shape[0]),
        lambda a: a.reshape(heads * d_kv, a.shape[-1]).T,
    )


def _param_map(config: T5Config) -> Iterator[tuple[str, Path, _Transform]]:
    """(HF name, flanjax path with per-layer names, transform) for every parameter."""
    h, d = config.num_heads, config.d_kv
    yield "shared.weight", ("token_embedder", "embedding"), _identity()
    mlp = ("wi_0", "wi_1", "wo") if config.is_gated else ("wi", "wo")

    def attention(hf: str, fj: Path) -> Iterator[tuple[str, Path, _Transform]]:
        for hf_name, fj_name in (("q", "query"), ("k", "key"), ("v", "value")):
            yield f"{hf}.{hf_name}.weight", fj + (fj_name, "kernel"), _qkv(h, d)
        yield f"{hf}.o.weight", fj + ("out", "kernel"), _out(h, d)

    def norm(hf: str, fj: Path, name: str) -> tuple[str, Path, _Transform]:
        return f"{hf}.layer_norm.weight", fj + (name, "scale"), _identity()

    def ff(hf: str, fj: Path) -> Iterator[tuple[str, Path, _Transform]]:
        yield norm(hf, fj, "pre_mlp_layer_norm")
        for name in mlp:
            yield f"{hf}.DenseReluDense.{name}.weight", fj + ("mlp", name, "kernel"), _transpose()

    for stack, n_layers in (
        ("encoder", config.num_encoder_layers),
        ("decoder", config.num_decoder_layers),
    ):
        yield (
            f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            (stack, "relpos_bias", "rel_embedding"),
            _transpose(),
        )
        for i in range(n_layers):
            hf, fj = f"{stack}.block.{i}.layer", (stack, f"layers_{i}")
            if stack == "encoder":
                yield norm(f"{hf}.0", fj, "pre_attention_layer_norm")
                yield from attention(f"{hf}.0.SelfAttention", fj + ("attention",))
                yield from ff(f"{hf}.1", fj)
            else:
                yield norm(f"{hf}.0", fj, "pre_self_attention_layer_norm")
                yield from attention(f"{hf}.0.SelfAttention", fj + ("self_attention",))
                yield norm(f"{hf}.1", fj, "pre_cross_attention_layer_norm")
                yield from attention(f"{hf}.1.EncDecAttention", fj + ("encoder_decoder_attention",))
                yield from ff(f"{hf}.2", fj)
        final_norm = "encoder_norm" if stack == "encoder" else "decoder_norm"
        yield f"{stack}.final_layer_norm.weight", (stack, final_norm, "scale"), _identity()
    if not config.tie_word_embeddings:
        yield "lm_head.weight", ("decoder", "logits_dense", "kernel"), _transpose()


# -- layer stacking for scan_layers ------------------------------------------------------


def _set(tree: dict[str, Any], path: Path, value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _get(tree: Any, path: Path) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _stack_depths(config: T5Config) -> tuple[tuple[str, int], ...]:
    return (("encoder", config.num_encoder_layers), ("decoder", config.num_decoder_layers))


def stack_layers(params: dict[str, Any], config: T5Config, xp: Any = np) -> dict[str, Any]:
    """`layers_{i}` subtrees -> one `layers` subtree with a leading layer axis.

    `xp`: the array module (`numpy` on the host, `jax.numpy` inside `jit`)."""
    import jax

    out = dict(params)
    for stack, n in _stack_depths(config):
        sub = dict(out[stack])
        layers = [sub.pop(f"layers_{i}") for i in range(n)]
        sub["layers"] = jax.tree_util.tree_map(lambda *xs: xp.stack(xs), *layers)
        out[stack] = sub
    return out


def unstack_layers(params: dict[str, Any], config: T5Config, xp: Any = np) -> dict[str, Any]:
    """Inverse of `stack_layers`."""
    import jax

    out = dict(params)
    for stack, n in _stack_depths(config):
        sub = dict(out[stack])
        stacked = sub.pop("layers")
        for i in range(n):
            sub[f"layers_{i}"] = jax.tree_util.tree_map(lambda x, i=i: xp.asarray(x)[i], stacked)
        out[stack] = sub
    return out


# -- shape checks ------------------------------------------------------------------------


def _flatten(tree: Any, prefix: Path = ()) -> dict[Path, Any]:
    if isinstance(tree, dict) or hasattr(tree, "items"):
        flat: dict[Path, Any] = {}
        for key, value in tree.items():
            flat.update(_flatten(value, prefix + (str(key),)))
        return flat
    return {prefix: tree}


def check_params_match(config: T5Config, params: Any) -> None:
    """ValueError naming the first parameter whose presence or shape disagrees with config."""
    from flanjax.model.network import abstract_params

    expected = _flatten(abstract_params(config))
    actual = _flatten(params)
    missing = sorted("/".join(p) for p in expected.keys() - actual.keys())
    extra = sorted("/".join(p) for p in actual.keys() - expected.keys())
    if missing or extra:
        raise ValueError(
            "Parameter tree does not match the config: "
            f"missing {missing[:8]}, unexpected {extra[:8]}"
        )
    for path, spec in expected.items():
        shape = tuple(np.shape(actual[path]))
        if shape != tuple(spec.shape):
            raise ValueError(
                f"Parameter {'/'.join(path)} has shape {shape} but the config expects "
                f"{tuple(spec.shape)}"
            )


# -- reading and writing -------------------------------------------------------------------


def _weight_files(path: str) -> list[str]:
    index = os.path.join(path, SAFE_INDEX_NAME)
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        return [os.path.join(path, name) for name in sorted(set(weight_map.values()))]
    single = os.path.join(path, SAFE_WEIGHTS_NAME)
    if os.path.exists(single):
        return [single]
    pickled = [name for name in _PICKLE_NAMES if os.path.exists(os.path.join(path, name))]
    if pickled or any(n.startswith("pytorch_model") for n in os.listdir(path)):
        raise ValueError(
            f"{path} holds only pickled weights ({pickled or 'pytorch_model*.bin'}); flanjax "
            "never unpickles checkpoints. Re-save them as safetensors first: "
            "model.save_pretrained(out_dir, safe_serialization=True)"
        )
    raise FileNotFoundError(f"No {SAFE_WEIGHTS_NAME} or {SAFE_INDEX_NAME} in {path}")


def _read_safetensors(files: list[str]) -> dict[str, np.ndarray]:
    from safetensors import safe_open

    tensors: dict[str, np.ndarray] = {}
    for file in files:
        # framework="flax" reads bfloat16 too (numpy has no bfloat16 of its own).
        with safe_open(file, framework="flax") as f:
            for key in f.keys():
                tensors[key] = np.asarray(f.get_tensor(key))
    return tensors


def load_hf_t5(path: str, **config_overrides: Any) -> tuple[T5Config, dict[str, Any]]:
    """Reads a `save_pretrained` directory: (config, params) with float32 numpy params.

    `config_overrides` (e.g. `dtype="float32"`, `scan_layers=True`) replace config fields.
    """
    config_file = os.path.join(path, CONFIG_NAME)
    if not os.path.exists(config_file):
        raise FileNotFoundError(f"No {CONFIG_NAME} in {path}")
    with open(config_file) as f:
        hf_config = json.load(f)
    if hf_config.get("model_type") not in ("t5", "mt5"):
        config_from_hf(hf_config, tied=True)  # raises the model_type error
    tensors = _read_safetensors(_weight_files(path))
    config = config_from_hf(hf_config, tied="lm_head.weight" not in tensors, **config_overrides)
    params = params_from_hf(config, tensors)
    return config, params


def params_from_hf(config: T5Config, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    from flanjax.model.network import abstract_params

    expected = _flatten(abstract_params(config.replace(scan_layers=False)))
    dtype = config.parameter_dtype
    params: dict[str, Any] = {}
    used = set()
    for hf_name, path, (to_flax, to_hf) in _param_map(config):
        want = tuple(expected[path].shape)
        want_hf = to_hf(np.broadcast_to(np.int8(0), want)).shape  # no allocation
        if hf_name not in tensors:
            raise ValueError(f"Checkpoint lacks parameter {hf_name} (expected shape {want_hf})")
        array = tensors[hf_name]
        if array.shape != want_hf:
            raise ValueError(
                f"Parameter {hf_name} has shape {tuple(array.shape)} in the checkpoint but the "
                f"config expects {tuple(want_hf)}"
            )
        _set(params, path, np.ascontiguousarray(to_flax(array)).astype(dtype))
        used.add(hf_name)
    unexpected = sorted(set(tensors) - used - set(_IGNORED_KEYS))
    if unexpected:
        raise ValueError(
            f"Checkpoint has parameters the config does not account for: {unexpected[:8]}"
        )
    if config.scan_layers:
        params = stack_layers(params, config)
    check_params_match(config, params)
    return params


def params_to_hf(config: T5Config, params: Any) -> dict[str, np.ndarray]:
    check_params_match(config, params)
    tree = unstack_layers(params, config) if config.scan_layers else params
    tensors: dict[str, np.ndarray] = {}
    for hf_name, path, (_, to_hf) in _param_map(config):
        array = np.asarray(_get(tree, path), dtype=np.float32)
        tensors[hf_name] = np.ascontiguousarray(to_hf(array))
    return tensors


def save_hf_t5(config: T5Config, params: Any, out_dir: str) -> None:
    """Writes config.json + model.safetensors loadable by `T5ForConditionalGeneration`."""
    from safetensors.numpy import save_file

    os.makedirs(out_dir, exist_ok=True)
    tensors = params_to_hf(config, params)
    save_file(tensors, os.path.join(out_dir, SAFE_WEIGHTS_NAME), metadata={"format": "pt"})
    with open(os.path.join(out_dir, CONFIG_NAME), "w") as f:
        json.dump(config_to_hf(config), f, indent=2, sort_keys=True)
