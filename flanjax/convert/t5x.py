"""T5X checkpoints <-> flanjax parameters (`--from_t5x` / `--to_t5x`).

Names. flanjax's parameter tree uses the names of `t5x/examples/t5/network.py` and its
`layers.py` (`token_embedder/embedding`, `encoder/relpos_bias/rel_embedding`,
`encoder/layers_{i}/attention/query/kernel`, `mlp/wi_0`, `decoder/logits_dense/kernel`, ...),
so the map is the identity on paths. Shapes differ only in the attention kernels: T5X's
`DenseGeneral` stores them flattened, query/key/value `[embed, heads * kv]` and out
`[heads * kv, embed]` (`kernel_param_shape`, reshaped row-major to `[embed, heads, kv]` /
`[heads, kv, embed]` when applied), which is flanjax's shape reshaped.

Layouts read:
  * per layer, `t5x/examples/t5/network.py` (the released T5 1.1 / Flan-T5 T5X checkpoints):
    `encoder/layers_{i}/...`, one `relpos_bias` per stack, 2-D attention kernels;
  * per layer, `t5x/examples/scalable_t5/network.py` with `scan_layers=False`: 3-D attention
    kernels and a `relpos_bias` inside each layer;
  * scanned, scalable_t5 (and flaxformer) with `scan_layers=True`: `encoder/encoder/...` and
    `decoder/decoder/...` holding every layer stacked on axis `param_scan_axis` (1 by default;
    read off the layer norm scales), the relpos table included.
flanjax's T5, like T5 1.1 and Hugging Face's T5, shares one relative-position table per
stack. Per-layer tables import when they are all equal (a shared model laid out per layer)
and fail naming the table otherwise: a model trained with distinct tables has no flanjax
equivalent.

The config comes from the shapes (T5X keeps it in gin, not in the checkpoint): vocabulary
and width from `token_embedder`, heads and buckets from `relpos_bias`, `kv` from the query
kernel, depth from the layer count, the MLP from `wi` (`('relu',)`) or `wi_0`/`wi_1`
(`('gelu', 'linear')`, T5 1.1's gated GELU), tied output when `logits_dense` is absent
(`logits_via_embedding=True`, whose logits T5X divides by sqrt(emb_dim): flanjax's
`scale_decoder_outputs`). Fixed by `network.py`: 128 max distance, epsilon 1e-6. When the
run's `config.gin` sits beside the checkpoint folders, its `mlp_activations` is checked.

Written (`--to_t5x`): the `t5x/examples/t5/network.py` layout, parameters in TensorStore,
`state.step`, and Adafactor's state in the shapes T5X's `Adafactor.init_param_state` gives
them (factored second moments for matrices whose two largest dimensions reach 128,
`min_dim_size_to_factor`; no momentum, `beta1=None` as in T5 1.1's gin): the run's own
statistics (`flanjax.train.t5x_state.to_t5x`), or zeros, as a freshly initialised T5X
optimizer's, when the source has none. T5X restores it into a
`t5x.examples.t5.network.Transformer` with Adafactor.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

import numpy as np

from flanjax.convert import t5x_files
from flanjax.convert.hf import _flatten, _set, check_params_match, stack_layers, unstack_layers
from flanjax.convert.t5x_files import T5XCheckpointError
from flanjax.model.config import T5Config

Path = tuple[str, ...]
_ATTENTION = ("attention", "self_attention", "encoder_decoder_attention")
_MAX_DISTANCE = 128  # t5x/examples/t5/network.py RelativePositionBiases(max_distance=128)
_EPSILON = 1e-6  # t5x/examples/t5/layers.py LayerNorm.epsilon
_MIN_DIM_SIZE_TO_FACTOR = 128  # t5x/adafactor.py Adafactor(min_dim_size_to_factor=128)
_SLOTS = ("v_row", "v_col", "v", "m")


def _name(path: Path) -> str:
    return "/".join(path)


# -- layouts -> one per-layer dict ----------------------------------------------------


def _layer_count(flat: dict[Path, np.ndarray], stack: str) -> int:
    indices = {int(m.group(1)) for p in flat if p[0] == stack and len(p) > 1
               for m in [re.fullmatch(r"layers_(\d+)", p[1])] if m}
    if indices and indices != set(range(len(indices))):
        raise T5XCheckpointError(
            f"T5X checkpoint's {stack} has layers {sorted(indices)}: layer numbers must run "
            f"from 0 (missing {stack}/layers_{min(set(range(max(indices) + 1)) - indices)})")
    return len(indices)


def _unscan(flat: dict[Path, np.ndarray], d_model: int) -> dict[Path, np.ndarray]:
    """scalable_t5's `{stack}/{stack}/...` stacked arrays -> `{stack}/layers_{i}/...`."""
    out = {p: a for p, a in flat.items() if not (len(p) > 1 and p[1] == p[0])}
    for stack in ("encoder", "decoder"):
        scanned = {p[2:]: a for p, a in flat.items() if len(p) > 2 and p[:2] == (stack, stack)}
        if not scanned:
            continue
        norm = ("pre_attention_layer_norm" if stack == "encoder" else "pre_self_attention_layer_norm", "scale")
        if norm not in scanned or scanned[norm].ndim != 2:
            raise T5XCheckpointError(
                f"Scanned T5X checkpoint lacks {stack}/{stack}/{_name(norm)} "
                f"([embed, layers]), from which the layer axis is read")
        # T5X's param_scan_axis (scalable_t5 T5Config, default 1): the norm scale is [embed, layers].
        axis = 1 if scanned[norm].shape[0] == d_model else 0
        layers = scanned[norm].shape[axis]
        for sub, array in scanned.items():
            if array.ndim <= axis or array.shape[axis] != layers:
                raise T5XCheckpointError(
                    f"Scanned T5X parameter {stack}/{stack}/{_name(sub)} has shape {array.shape}: "
                    f"expected {layers} layers on axis {axis} as the layer norm scales have")
            for i in range(layers):
                out[(stack, f"layers_{i}") + sub] = np.take(array, i, axis=axis)
    return out


def _share_relpos(flat: dict[Path, np.ndarray], scanned: bool) -> dict[Path, np.ndarray]:
    """Per-layer relpos tables (scalable_t5) -> the stack's one table, when they agree."""
    out = dict(flat)
    for stack in ("encoder", "decoder"):
        keys = sorted((p for p in flat if len(p) == 4 and p[0] == stack and p[2:] == ("relpos_bias", "rel_embedding")),
                      key=lambda p: int(p[1].split("_")[1]))
        if not keys:
            continue
        first = flat[keys[0]]
        for key in keys[1:]:
            if flat[key].shape != first.shape or not np.array_equal(flat[key], first):
                shown = f"{stack}/{stack}/relpos_bias/rel_embedding" if scanned else _name(key)
                raise T5XCheckpointError(
                    f"T5X parameter {shown} holds a different relative-position table for "
                    f"{key[1]} than for {keys[0][1]}; flanjax's T5 shares one table per stack "
                    "(as T5 1.1 and t5x/examples/t5/network.py do), so a model trained with "
                    "per-layer tables (scalable_t5) cannot be converted without changing it")
        for key in keys:
            del out[key]
        if (stack, "relpos_bias", "rel_embedding") in out:
            raise T5XCheckpointError(f"T5X checkpoint has both {stack}/relpos_bias and per-layer tables")
        out[(stack, "relpos_bias", "rel_embedding")] = first
    return out


def per_layer_target(target: dict[str, Any]) -> tuple[dict[Path, np.ndarray], str]:
    """A T5X `target` tree as {path: array} in the t5/network.py per-layer naming; and the
    layout it came in ("per_layer" or "scanned")."""
    flat = {p: np.asarray(a) for p, a in _flatten(target).items()}
    embedding = flat.get(("token_embedder", "embedding"))
    if embedding is None or embedding.ndim != 2:
        raise T5XCheckpointError(
            "T5X checkpoint lacks token_embedder/embedding [vocab, embed]: not a T5 encoder-decoder "
            f"(top-level parameters: {sorted({p[0] for p in flat})[:8]})")
    scanned = any(len(p) > 1 and p[1] == p[0] for p in flat)
    if scanned:
        flat = _unscan(flat, embedding.shape[1])
    return _share_relpos(flat, scanned), "scanned" if scanned else "per_layer"


# -- config from shapes -----------------------------------------------------------------


def _require(flat: dict[Path, np.ndarray], path: Path, what: str) -> np.ndarray:
    if path not in flat:
        raise T5XCheckpointError(f"T5X checkpoint lacks parameter {_name(path)} ({what})")
    return flat[path]


def infer_config(flat: dict[Path, np.ndarray], **overrides: Any) -> T5Config:
    """The flanjax config of a per-layer T5X parameter dict (see the module docstring)."""
    vocab, d_model = _require(flat, ("token_embedder", "embedding"), "[vocab, embed]").shape
    heads, buckets = _require(flat, ("encoder", "relpos_bias", "rel_embedding"), "[heads, buckets]").shape
    n_enc, n_dec = _layer_count(flat, "encoder"), _layer_count(flat, "decoder")
    if not n_enc or not n_dec:
        raise T5XCheckpointError(f"T5X checkpoint has {n_enc} encoder and {n_dec} decoder layers (layers_0 ...)")
    query = _require(flat, ("encoder", "layers_0", "attention", "query", "kernel"), "[embed, heads * kv]")
    if query.ndim == 2 and query.shape[1] % heads:
        raise T5XCheckpointError(
            f"T5X parameter encoder/layers_0/attention/query/kernel has shape {query.shape}: "
            f"{query.shape[1]} is not a multiple of the {heads} heads of encoder/relpos_bias")
    d_kv = query.shape[1] // heads if query.ndim == 2 else query.shape[-1]
    gated = ("encoder", "layers_0", "mlp", "wi_0", "kernel") in flat
    wi = _require(flat, ("encoder", "layers_0", "mlp", "wi_0" if gated else "wi", "kernel"), "[embed, mlp]")
    tied = ("decoder", "logits_dense", "kernel") not in flat
    values: dict[str, Any] = dict(
        vocab_size=int(vocab), d_model=int(d_model), d_kv=int(d_kv), d_ff=int(wi.shape[-1]),
        num_heads=int(heads), num_encoder_layers=n_enc, num_decoder_layers=n_dec,
        relative_attention_num_buckets=int(buckets), relative_attention_max_distance=_MAX_DISTANCE,
        layer_norm_epsilon=_EPSILON, feed_forward_proj="gated-gelu" if gated else "relu",
        tie_word_embeddings=tied, scale_decoder_outputs=tied,
    )
    values.update(overrides)
    return T5Config(**values)


def _check_gin(checkpoint_file: str, config: T5Config) -> None:
    """The run's config.gin (T5X writes it to MODEL_DIR) must agree on the MLP activations."""
    model_dir = os.path.dirname(os.path.dirname(checkpoint_file))
    gin = os.path.join(model_dir, "config.gin")
    if checkpoint_file.startswith("gs://") or not os.path.exists(gin):
        return
    with open(gin) as f:
        m = re.search(r"mlp_activations\s*=\s*(\([^)]*\)|\[[^\]]*\])", f.read())
    if not m:
        return
    acts = tuple(re.findall(r"['\"](\w+)['\"]", m.group(1)))
    expected = ("gelu", "linear") if config.is_gated else ("relu",)
    if acts != expected:
        raise T5XCheckpointError(
            f"{gin} sets mlp_activations = {acts}; flanjax's T5 computes {expected} for this "
            "checkpoint's MLP (gated-gelu or relu), so its outputs would differ")


# -- parameters ---------------------------------------------------------------------------


def _is_attention(path: Path) -> str | None:
    if len(path) >= 3 and path[-3] in _ATTENTION and path[-1] == "kernel":
        return "out" if path[-2] == "out" else "qkv"
    return None


def to_flanjax(flat: dict[Path, np.ndarray], config: T5Config) -> dict[str, Any]:
    """Per-layer T5X arrays -> flanjax params (per layer; stacked if `config.scan_layers`)."""
    from flanjax.model.network import abstract_params  # pylint: disable=g-import-not-at-top

    expected = _flatten(abstract_params(config.replace(scan_layers=False)))
    unexpected = sorted(_name(p) for p in set(flat) - set(expected))
    instead = f"; it has instead {unexpected[:4]}" if unexpected else ""
    params: dict[str, Any] = {}
    for path, spec in expected.items():
        want = tuple(spec.shape)
        kind = _is_attention(path)
        joined = ((want[0], want[1] * want[2]) if kind == "qkv" else (want[0] * want[1], want[2])) if kind else want
        if path not in flat:
            raise T5XCheckpointError(
                f"T5X checkpoint lacks parameter {_name(path)} (expected shape {joined}){instead}")
        array = flat[path]
        if array.shape not in (want, joined):
            raise T5XCheckpointError(
                f"T5X parameter {_name(path)} has shape {array.shape} but the config inferred "
                f"from the checkpoint expects {joined}")
        _set(params, path, np.ascontiguousarray(array.reshape(want)).astype(config.parameter_dtype))
    if unexpected:
        raise T5XCheckpointError(
            f"T5X checkpoint has parameters flanjax's T5 does not account for: {unexpected[:8]}")
    if config.scan_layers:
        params = stack_layers(params, config)
    check_params_match(config, params)
    return params


def _step(state: Any, file: str) -> int:
    step = state.get("step") if isinstance(state, dict) else None
    if step is None:
        raise T5XCheckpointError(f"{file} has no state/step")
    return int(np.asarray(step))


def load_t5x(path: str, *, step: int | None = None, **config_overrides: Any) -> tuple[T5Config, dict[str, Any], int]:
    """(config, params, step) of a T5X checkpoint: a MODEL_DIR (latest `checkpoint_N`, or
    `step`), a `checkpoint_N` folder or its msgpack file; local or gs://.

    `config_overrides` replace inferred config fields (e.g. `scan_layers=True`)."""
    file, tree = t5x_files.read_checkpoint(path, step)
    flat, _ = per_layer_target(tree["target"])
    config = infer_config(flat, **config_overrides)
    _check_gin(file, config)
    params = to_flanjax(flat, config)
    return config, params, _step(tree.get("state"), file)


# -- Adafactor state ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class T5XAdafactorState:
    """T5X's Adafactor state (`t5x/adafactor.py` `_AdafactorParamState`) as numpy arrays.

    `slots[path]` maps "v_row" / "v_col" / "v" / "m" to the array T5X stored for the
    parameter `path` (T5X's own path, "/"-joined, as under `target`); T5X's unused (1,)
    placeholders are left out. Shapes are T5X's: for a factored parameter of shape S with
    row dims R and column dims C, `v_row` is S without C and `v_col` S without R (for a
    matrix, the heuristic factors the two largest dims when the smaller reaches 128: row =
    the second largest, column = the largest, the earlier one being the row on a tie);
    `v` (unfactored) and `m` (momentum) have S. Attention kernels are T5X's 2-D
    `[embed, heads * kv]` (flanjax: `[embed, heads, kv]`) in the t5/network.py layout; in a
    scanned layout S carries the layer axis. `param_shapes[path]` is S."""

    step: int
    layout: str  # "per_layer" or "scanned"
    slots: dict[str, dict[str, np.ndarray]]
    param_shapes: dict[str, tuple[int, ...]]


def read_t5x_adafactor_state(path: str, *, step: int | None = None) -> T5XAdafactorState:
    """T5X's Adafactor statistics and step, for seeding flanjax's optimizer from them."""
    file, tree = t5x_files.read_checkpoint(path, step)
    state = tree.get("state") or {}
    target = {_name(p): tuple(np.shape(a)) for p, a in _flatten(tree["target"]).items()}
    flat = _flatten(state.get("param_states") or {})
    slots: dict[str, dict[str, np.ndarray]] = {}
    for p, array in flat.items():
        if p[-1] not in _SLOTS:
            raise T5XCheckpointError(
                f"{file}: state/param_states/{_name(p)} is not an Adafactor slot {_SLOTS}: "
                "this checkpoint was trained with another optimizer")
        param = _name(p[:-1])
        if param not in target:
            raise T5XCheckpointError(f"{file}: state/param_states/{_name(p)} has no parameter {param}")
        array = np.asarray(array)
        if array.shape == (1,) and target[param] != (1,):
            continue  # T5X's placeholder for a slot this parameter does not use
        slots.setdefault(param, {})[p[-1]] = array
    scanned = any(len(p.split("/")) > 1 and p.split("/")[1] == p.split("/")[0] for p in target)
    return T5XAdafactorState(_step(state, file), "scanned" if scanned else "per_layer", slots, target)


def initial_adafactor_slots(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """`t5x/adafactor.py` `Adafactor.init_param_state` for a <=2-D parameter with the
    heuristic rule (logical rules fall back to it below rank 3) and beta1=None."""
    slots = {k: np.zeros((1,), np.float32) for k in _SLOTS}
    if len(shape) >= 2:
        order = np.argsort(shape, kind="stable")
        if shape[order[-2]] >= _MIN_DIM_SIZE_TO_FACTOR:
            row, col = int(order[-2]), int(order[-1])
            slots["v_row"] = np.zeros(np.delete(shape, col), np.float32)
            slots["v_col"] = np.zeros(np.delete(shape, row), np.float32)
            return slots
    slots["v"] = np.zeros(shape, np.float32)
    return slots


# -- writing ----------------------------------------------------------------------------------


def to_t5x_target(config: T5Config, params: Any) -> dict[str, Any]:
    """flanjax params -> T5X `target` in the t5/network.py layout (2-D attention kernels)."""
    if config.relative_attention_max_distance != _MAX_DISTANCE or config.layer_norm_epsilon != _EPSILON:
        raise T5XCheckpointError(
            f"t5x/examples/t5/network.py fixes relative max_distance={_MAX_DISTANCE} and layer "
            f"norm epsilon={_EPSILON}; this model has {config.relative_attention_max_distance} and "
            f"{config.layer_norm_epsilon}, which T5X's T5 cannot reproduce")
    if bool(config.scale_decoder_outputs) != bool(config.tie_word_embeddings):
        raise T5XCheckpointError(
            f"T5X scales the output by 1/sqrt(emb_dim) exactly when it is tied "
            f"(logits_via_embedding); this model has tie_word_embeddings={config.tie_word_embeddings} "
            f"and scale_decoder_outputs={config.scale_decoder_outputs}")
    check_params_match(config, params)
    tree = unstack_layers(params, config) if config.scan_layers else params
    target: dict[str, Any] = {}
    for path, array in _flatten(tree).items():
        array = np.asarray(array)
        kind = _is_attention(path)
        if kind == "qkv":
            array = array.reshape(array.shape[0], -1)
        elif kind == "out":
            array = array.reshape(-1, array.shape[-1])
        _set(target, path, np.ascontiguousarray(array))
    return target


def save_t5x(config: T5Config, params: Any, model_dir: str, *, step: int,
             param_states: dict[str, Any] | None = None) -> str:
    """Writes MODEL_DIR/checkpoint_{step} that T5X restores; returns that folder.

    `param_states`: T5X's Adafactor slots per parameter (`flanjax.train.t5x_state.to_t5x`);
    None: T5X's initial (zero) statistics."""
    target = to_t5x_target(config, params)
    if param_states is None:
        param_states = {}
        for path, array in _flatten(target).items():
            _set(param_states, path, initial_adafactor_slots(tuple(array.shape)))
    state = {"step": np.asarray(step, np.int32), "param_states": param_states}

    def in_tensorstore(key: Path) -> bool:
        # T5X gives partitioning axes to the parameters and to the full-shape `v` (and `m`);
        # the step, factored rows/columns and placeholders have none and go inline.
        if key[0] == "target":
            return True
        return key[-1] in ("v", "m") and np.shape(_get(state, key[1:])) != (1,)

    return t5x_files.write_checkpoint(model_dir, step, target, state, in_tensorstore)


def _get(tree: Any, path: Path) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def model_gin(config: T5Config) -> str:
    """The `network.T5Config` bindings that rebuild this model in T5X."""
    acts = "('gelu', 'linear')" if config.is_gated else "('relu',)"
    return "\n".join([
        "# t5x/examples/t5/network.py settings of the exported model (written by flanjax).",
        "network.T5Config:",
        f"  vocab_size = {config.vocab_size}",
        f"  emb_dim = {config.d_model}",
        f"  num_heads = {config.num_heads}",
        f"  num_encoder_layers = {config.num_encoder_layers}",
        f"  num_decoder_layers = {config.num_decoder_layers}",
        f"  head_dim = {config.d_kv}",
        f"  mlp_dim = {config.d_ff}",
        f"  mlp_activations = {acts}",
        f"  logits_via_embedding = {bool(config.tie_word_embeddings)}",
        "",
    ])
