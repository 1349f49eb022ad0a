"""T5X-layout checkpoints written independently of flanjax's converter, for its tests.

Shapes and structure follow T5X's real test files (read from google-research/t5x):
  * `t5x/testdata/test_t5_tiny.checkpoint_0`: msgpack {"version": 3, "optimizer": {"target":
    params named as t5x/examples/t5/network.py names them, 2-D attention kernels
    [embed, heads*kv] / [heads*kv, embed], "state": {"step": int32 array, "param_states":
    {param: {"m", "v", "v_col", "v_row"}}}}}, unused Adafactor slots as (1,) zeros;
  * `t5x/testdata/tiny_t5/checkpoint_1`: leaves written by TensorStore are replaced in the
    msgpack by a spec {"driver": "zarr", "dtype", "kvstore": {"driver": "gfile", "path":
    "state.param_states.bias/"}, "metadata": {"chunks", "compressor": {"id": "gzip",
    "level": 1}, "shape"}} with the zarr array in that folder beside the msgpack file.
The weights come from a `transformers` T5 (the reference), mapped by hand below.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
import tensorstore as ts
from flax import serialization


def t5x_target_from_hf(model: Any) -> dict[str, Any]:
    """HF T5 weights in the t5x/examples/t5/network.py tree (torch Linear is [out, in])."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    cfg = model.config
    target: dict[str, Any] = {"token_embedder": {"embedding": sd["shared.weight"]}}

    def attention(prefix: str) -> dict[str, Any]:
        names = (("q", "query"), ("k", "key"), ("v", "value"), ("o", "out"))
        return {t5x: {"kernel": sd[f"{prefix}.{hf}.weight"].T} for hf, t5x in names}

    def mlp(prefix: str) -> dict[str, Any]:
        names = ("wi_0", "wi_1", "wo") if cfg.is_gated_act else ("wi", "wo")
        return {n: {"kernel": sd[f"{prefix}.DenseReluDense.{n}.weight"].T} for n in names}

    for stack, n in (("encoder", cfg.num_layers), ("decoder", cfg.num_decoder_layers)):
        sub: dict[str, Any] = {"relpos_bias": {"rel_embedding": sd[
            f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"].T}}
        for i in range(n):
            b = f"{stack}.block.{i}.layer"
            norm = lambda j: {"scale": sd[f"{b}.{j}.layer_norm.weight"]}
            if stack == "encoder":
                layer = {"pre_attention_layer_norm": norm(0), "attention": attention(f"{b}.0.SelfAttention"),
                         "pre_mlp_layer_norm": norm(1), "mlp": mlp(f"{b}.1")}
            else:
                layer = {"pre_self_attention_layer_norm": norm(0),
                         "self_attention": attention(f"{b}.0.SelfAttention"),
                         "pre_cross_attention_layer_norm": norm(1),
                         "encoder_decoder_attention": attention(f"{b}.1.EncDecAttention"),
                         "pre_mlp_layer_norm": norm(2), "mlp": mlp(f"{b}.2")}
            sub[f"layers_{i}"] = layer
        sub[f"{stack}_norm"] = {"scale": sd[f"{stack}.final_layer_norm.weight"]}
        target[stack] = sub
    # make_hf_model gives untied variants an lm_head of their own (a distinct tensor).
    if model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr():
        target["decoder"]["logits_dense"] = {"kernel": sd["lm_head.weight"].T}
    return target


def scanned_from_per_layer(target: dict[str, Any], heads: int) -> dict[str, Any]:
    """t5x/examples/scalable_t5/network.py with scan_layers=True (param_scan_axis=1): each
    layer's params stacked on axis 1 under `{stack}/{stack}`, 3-D attention kernels
    ([embed, heads, kv], [heads, kv, embed]) and a relpos table inside every layer."""
    out = {k: v for k, v in target.items() if k not in ("encoder", "decoder")}
    for stack in ("encoder", "decoder"):
        sub = dict(target[stack])
        relpos = sub.pop("relpos_bias")
        layers = [sub.pop(k) for k in sorted((k for k in list(sub) if k.startswith("layers_")),
                                             key=lambda k: int(k.split("_")[1]))]

        def leaves(tree, prefix=()):
            for k, v in tree.items():
                yield from leaves(v, prefix + (k,)) if isinstance(v, dict) else [(prefix + (k,), v)]

        scanned: dict[str, Any] = {}
        paths = [p for p, _ in leaves(layers[0])] + [("relpos_bias", "rel_embedding")]
        for path in paths:
            per_layer = []
            for layer in layers:
                if path[0] == "relpos_bias":
                    a = relpos["rel_embedding"]
                else:
                    a = layer
                    for k in path:
                        a = a[k]
                if path[-1] == "kernel" and path[-2] in ("query", "key", "value"):
                    a = a.reshape(a.shape[0], heads, -1)
                elif path[-1] == "kernel" and path[-2] == "out":
                    a = a.reshape(heads, -1, a.shape[-1])
                per_layer.append(a)
            node = scanned
            for k in path[:-1]:
                node = node.setdefault(k, {})
            node[path[-1]] = np.stack(per_layer, axis=1)
        sub[stack] = scanned
        out[stack] = sub
    return out


def tiny_adafactor_state(target: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Adafactor slots as test_t5_tiny.checkpoint_0 holds them for dims < 128: a full `v`
    (random here, so reading it back is checked) and (1,) zeros for v_row, v_col, m."""
    def slots(a):
        return {"m": np.zeros(1, np.float32), "v": rng.random(a.shape).astype(np.float32),
                "v_col": np.zeros(1, np.float32), "v_row": np.zeros(1, np.float32)}

    def walk(tree):
        return {k: walk(v) if isinstance(v, dict) else slots(v) for k, v in tree.items()}

    return walk(target)


def write_t5x(model_dir: str, step: int, target: dict[str, Any], param_states: dict[str, Any] | None = None,
              in_zarr: Callable[[tuple[str, ...]], bool] = lambda path: True) -> str:
    """MODEL_DIR/checkpoint_{step}: msgpack `checkpoint` plus zarr arrays for `in_zarr` leaves.

    As T5X's partitioned saves: parameters and full-shape `v` / `m` slots may go to zarr; the
    step, factored rows / columns and (1,) placeholders are always inline.

    The recorded kvstore driver cycles through "file", "gfile" and "gcs" (with T5X's dummy
    bucket), as checkpoints written locally, by older T5X and on GCS record it."""
    folder = os.path.join(model_dir, f"checkpoint_{step}")
    os.makedirs(folder, exist_ok=True)
    drivers = iter(["file", "gfile", "gcs"] * 100000)

    def walk(tree, prefix):
        out = {}
        for k, v in tree.items():
            path = prefix + (k,)
            if isinstance(v, dict):
                out[k] = walk(v, path)
            elif in_zarr(path) and (path[0] == "target" or (path[-1] in ("v", "m") and v.shape != (1,))):
                name = ".".join(path)
                ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": os.path.join(folder, name)},
                         "metadata": {"compressor": {"id": "gzip", "level": 1}, "shape": list(v.shape),
                                      "chunks": list(v.shape), "dtype": "<f4"}},
                        create=True, open=True).result().write(v).result()
                driver = next(drivers)
                kvstore = {"driver": driver, "path": name + "/"}
                if driver == "gcs":
                    kvstore["bucket"] = "t5x-dummy-bucket"
                out[k] = {"driver": "zarr", "dtype": "float32", "kvstore": kvstore,
                          "metadata": {"chunks": list(v.shape), "compressor": {"id": "gzip", "level": 1},
                                       "shape": list(v.shape)}}
            else:
                out[k] = np.asarray(v)
        return out

    tree = {"target": target, "state": {"param_states": param_states or {}, "step": np.asarray(step, np.int32)}}
    written = walk(tree, ())
    with open(os.path.join(folder, "checkpoint"), "wb") as f:
        f.write(serialization.msgpack_serialize({"version": 3, "optimizer": written}))
    return folder


def read_t5x(folder: str) -> dict[str, Any]:
    """The optimizer tree of a checkpoint folder, zarr leaves read with TensorStore; spec
    leaves are kept beside as `("spec", array)` so tests see what was inline."""
    with open(os.path.join(folder, "checkpoint"), "rb") as f:
        contents = serialization.msgpack_restore(f.read())
    assert contents["version"] == 3

    def walk(tree):
        if isinstance(tree, dict) and "driver" in tree:
            path = os.path.join(folder, tree["kvstore"]["path"])
            return ("spec", np.asarray(ts.open({"driver": "zarr", "kvstore": {"driver": "file", "path": path}},
                                                open=True).result().read().result()))
        if isinstance(tree, dict):
            return {k: walk(v) for k, v in tree.items()}
        return ("inline", np.asarray(tree))

    return walk(contents["optimizer"])
