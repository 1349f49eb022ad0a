"""T5X checkpoints <-> flanjax: import against the Hugging Face path, export in T5X's layout."""

import os
import subprocess
import sys

import numpy as np
import pytest
from _hf_t5 import hf_logits, make_hf_model, random_tokens, save
from _t5x_layout import read_t5x, scanned_from_per_layer, t5x_target_from_hf, tiny_adafactor_state, write_t5x

import jax

from flanjax.checkpoints import converted_step, load_flanjax_checkpoint, load_initial_params, save_flanjax_checkpoint
from flanjax.convert import load_hf_t5
from flanjax.convert.hf import stack_layers
from flanjax.convert.t5x import T5XCheckpointError, load_t5x, read_t5x_adafactor_state, save_t5x
from flanjax.convert.t5x_files import resolve_spec
from flanjax.model import T5, T5Config, abstract_params

_SHAPE_FIELDS = ("vocab_size", "d_model", "d_kv", "d_ff", "num_heads", "num_encoder_layers",
                 "num_decoder_layers", "relative_attention_num_buckets", "relative_attention_max_distance",
                 "feed_forward_proj", "tie_word_embeddings", "scale_decoder_outputs", "layer_norm_epsilon")


def _cli(*args):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pythonpath = os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=pythonpath)
    return subprocess.run([sys.executable, "-m", "flanjax.convert", *args], env=env, capture_output=True, text=True)


def _norms_inline(path):  # layer norm scales inline in the msgpack, everything else in zarr
    return path[-1] != "scale"


@pytest.mark.parametrize("variant", ["v1_1_gated_untied", "v1_0_relu_tied"])
def test_import_matches_hf_path_forward(variant, tmp_path):
    model = make_hf_model(variant, seed=21, redraw_std=0.2)
    target = t5x_target_from_hf(model)
    write_t5x(str(tmp_path / "t5x"), 1234, target, tiny_adafactor_state(target, np.random.default_rng(0)),
              in_zarr=_norms_inline)
    config, params, step = load_t5x(str(tmp_path / "t5x"), dtype="float32")
    assert step == 1234
    hf_config, hf_params = load_hf_t5(save(model, str(tmp_path / "hf")), dtype="float32")
    for field in _SHAPE_FIELDS:
        assert getattr(config, field) == getattr(hf_config, field), field
    jax.tree_util.tree_map(np.testing.assert_array_equal, params, hf_params)

    rng = np.random.default_rng(22)
    enc = random_tokens(rng, config.vocab_size, [7, 3], 7)
    dec = random_tokens(rng, config.vocab_size, [5, 5], 5)
    ours = np.asarray(T5(config).apply({"params": params}, enc, dec))
    np.testing.assert_allclose(ours, hf_logits(model, enc, dec), atol=2e-4, rtol=1e-4)


def test_cli_round_trip_is_identity_and_records_step(tmp_path):
    model = make_hf_model("v1_1_gated_untied", seed=23)
    target = t5x_target_from_hf(model)
    states = tiny_adafactor_state(target, np.random.default_rng(1))
    write_t5x(str(tmp_path / "t5x"), 77, target, states)
    run = _cli("--from_t5x", str(tmp_path / "t5x"), "--out", str(tmp_path / "fj"))
    assert run.returncode == 0, run.stderr
    assert converted_step(str(tmp_path / "fj")) == 77
    config, params = load_flanjax_checkpoint(str(tmp_path / "fj"))

    run = _cli("--to_t5x", str(tmp_path / "fj"), "--out", str(tmp_path / "back"))
    assert run.returncode == 0, run.stderr
    written = read_t5x(str(tmp_path / "back" / "checkpoint_77"))
    # T5X's tree, read without flanjax: the HF weights in T5X's shapes, each in a zarr array.
    flat_target = dict(jax.tree_util.tree_flatten_with_path(target)[0])
    flat_written = dict(jax.tree_util.tree_flatten_with_path(written["target"], is_leaf=lambda x: isinstance(x, tuple))[0])
    assert flat_written.keys() == flat_target.keys()
    for key, array in flat_target.items():
        assert flat_written[key][0] == "spec", key
        np.testing.assert_array_equal(flat_written[key][1], array, err_msg=str(key))
    assert written["state"]["step"] == ("inline", np.asarray(77, np.int32))
    slots = written["state"]["param_states"]["encoder"]["layers_0"]["attention"]["query"]["kernel"]
    # Dimensions below 128: T5X's Adafactor keeps a full `v` and (1,) placeholders; the
    # imported statistics come back unchanged (T5X -> flanjax -> T5X).
    assert slots["v"][0] == "spec" and slots["v"][1].shape == (32, 32)
    np.testing.assert_array_equal(slots["v"][1], states["encoder"]["layers_0"]["attention"]["query"]["kernel"]["v"])
    assert all(slots[k][0] == "inline" and slots[k][1].shape == (1,) for k in ("v_row", "v_col", "m"))

    config2, params2, step2 = load_t5x(str(tmp_path / "back"))
    assert config2 == config and step2 == 77
    jax.tree_util.tree_map(np.testing.assert_array_equal, params, params2)
    assert "mlp_activations = ('gelu', 'linear')" in (tmp_path / "back" / "model.gin").read_text()


def test_export_factors_adafactor_state_as_t5x(tmp_path):
    # Hand-applied t5x/adafactor.py `_factored_dims`: a matrix is factored when its second
    # largest dim reaches 128; row = second largest, column = largest (earlier on ties);
    # v_row drops the column dim, v_col the row dim.
    config = T5Config.tiny(vocab_size=256, d_model=128, d_ff=256, num_heads=2, d_kv=64,
                           num_encoder_layers=1, num_decoder_layers=1)
    params = jax.tree_util.tree_map(lambda a: np.ones(a.shape, a.dtype), abstract_params(config))
    save_t5x(config, params, str(tmp_path), step=5)
    states = read_t5x(str(tmp_path / "checkpoint_5"))["state"]["param_states"]
    expected = {
        ("token_embedder", "embedding"): {"v_row": (128,), "v_col": (256,)},  # [256, 128]
        ("encoder", "layers_0", "attention", "query", "kernel"): {"v_row": (128,), "v_col": (128,)},
        ("encoder", "layers_0", "mlp", "wi_0", "kernel"): {"v_row": (128,), "v_col": (256,)},  # [128, 256]
        ("encoder", "layers_0", "mlp", "wo", "kernel"): {"v_row": (128,), "v_col": (256,)},  # [256, 128]
        ("decoder", "logits_dense", "kernel"): {"v_row": (128,), "v_col": (256,)},  # [128, 256]
        ("encoder", "relpos_bias", "rel_embedding"): {"v": (2, 32)},
        ("decoder", "decoder_norm", "scale"): {"v": (128,)},
    }
    for path, shapes in expected.items():
        node = states
        for key in path:
            node = node[key]
        for slot in ("v_row", "v_col", "v", "m"):
            where, array = node[slot]
            assert array.shape == shapes.get(slot, (1,)), (path, slot)
            assert where == ("spec" if slot == "v" and slot in shapes else "inline"), (path, slot)
    assert states["token_embedder"]["embedding"]["v_row"][0] == "inline"


def test_scanned_layout_imports(tmp_path):
    model = make_hf_model("odd_shapes", seed=24, redraw_std=0.2)
    per_layer = t5x_target_from_hf(model)
    scanned = scanned_from_per_layer(per_layer, heads=model.config.num_heads)
    assert scanned["encoder"]["encoder"]["attention"]["query"]["kernel"].shape == (24, 3, 3, 5)
    write_t5x(str(tmp_path / "per_layer"), 3, per_layer)
    write_t5x(str(tmp_path / "scanned"), 3, scanned)
    _, params, _ = load_t5x(str(tmp_path / "per_layer"))
    config, params_scanned, step = load_t5x(str(tmp_path / "scanned"))
    assert step == 3 and config.num_encoder_layers == 3 and config.num_decoder_layers == 1
    jax.tree_util.tree_map(np.testing.assert_array_equal, params_scanned, params)
    config_s, stacked, _ = load_t5x(str(tmp_path / "scanned"), scan_layers=True)
    jax.tree_util.tree_map(np.testing.assert_array_equal, stacked, stack_layers(params, config_s))

    table = scanned["encoder"]["encoder"]["relpos_bias"]["rel_embedding"]
    table[:, 2] += 1.0  # layer 2 gets a table of its own
    write_t5x(str(tmp_path / "distinct"), 3, scanned)
    with pytest.raises(T5XCheckpointError, match=r"encoder/encoder/relpos_bias/rel_embedding.*layers_2"):
        load_t5x(str(tmp_path / "distinct"))


def test_missing_renamed_and_misshapen_parameters_are_named(tmp_path):
    model = make_hf_model("v1_1_gated_untied", seed=25)

    target = t5x_target_from_hf(model)
    del target["decoder"]["layers_1"]["mlp"]["wo"]
    write_t5x(str(tmp_path / "missing"), 1, target)
    with pytest.raises(T5XCheckpointError, match=r"lacks parameter decoder/layers_1/mlp/wo/kernel \(expected shape \(48, 32\)\)"):
        load_t5x(str(tmp_path / "missing"))
    run = _cli("--from_t5x", str(tmp_path / "missing"), "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and run.stderr.strip().splitlines()[-1].startswith("error: T5X checkpoint lacks")

    target = t5x_target_from_hf(model)
    target["encoder"]["layers_0"]["pre_ffn_layer_norm"] = target["encoder"]["layers_0"].pop("pre_mlp_layer_norm")
    write_t5x(str(tmp_path / "renamed"), 1, target)
    with pytest.raises(T5XCheckpointError, match=r"lacks parameter encoder/layers_0/pre_mlp_layer_norm/scale.*"
                                                 r"instead \['encoder/layers_0/pre_ffn_layer_norm/scale'\]"):
        load_t5x(str(tmp_path / "renamed"))

    target = t5x_target_from_hf(model)
    target["decoder"]["layers_0"]["self_attention"]["query"]["kernel"] = np.zeros((32, 30), np.float32)
    write_t5x(str(tmp_path / "shape"), 1, target)
    with pytest.raises(T5XCheckpointError, match=r"decoder/layers_0/self_attention/query/kernel has shape \(32, 30\).*\(32, 32\)"):
        load_t5x(str(tmp_path / "shape"))
    target = t5x_target_from_hf(model)  # same size, wrong orientation: still named
    target["encoder"]["layers_1"]["mlp"]["wi_1"]["kernel"] = target["encoder"]["layers_1"]["mlp"]["wi_1"]["kernel"].T
    write_t5x(str(tmp_path / "transposed"), 1, target)
    with pytest.raises(T5XCheckpointError, match=r"encoder/layers_1/mlp/wi_1/kernel has shape \(48, 32\).*\(32, 48\)"):
        load_t5x(str(tmp_path / "transposed"))

    target = t5x_target_from_hf(model)
    write_t5x(str(tmp_path / "gin"), 1, target)
    (tmp_path / "gin" / "config.gin").write_text("network.T5Config.mlp_activations = ('relu', 'linear')\n")
    with pytest.raises(T5XCheckpointError, match=r"config.gin sets mlp_activations = \('relu', 'linear'\)"):
        load_t5x(str(tmp_path / "gin"))


def test_adafactor_state_and_fine_tuning_start(tmp_path):
    model = make_hf_model("v1_1_gated_untied", seed=26)
    target = t5x_target_from_hf(model)
    states = tiny_adafactor_state(target, np.random.default_rng(2))
    write_t5x(str(tmp_path / "t5x"), 40, target, states, in_zarr=lambda p: p[-1] != "v_row")
    state = read_t5x_adafactor_state(str(tmp_path / "t5x" / "checkpoint_40"))
    assert state.step == 40 and state.layout == "per_layer"
    key = "decoder/layers_1/encoder_decoder_attention/out/kernel"
    assert set(state.slots[key]) == {"v"} and state.param_shapes[key] == (32, 32)
    np.testing.assert_array_equal(
        state.slots[key]["v"], states["decoder"]["layers_1"]["encoder_decoder_attention"]["out"]["kernel"]["v"])
    assert len(state.slots) == len(jax.tree_util.tree_leaves(target))

    # Fine-tuning reads the import like a --from_hf conversion, in either layer layout.
    config, params, step = load_t5x(str(tmp_path / "t5x"))
    save_flanjax_checkpoint(config, params, str(tmp_path / "fj"), step=step)
    scan = config.replace(scan_layers=True)
    restored = load_initial_params(str(tmp_path / "fj"), scan, abstract_params(scan))
    jax.tree_util.tree_map(np.testing.assert_array_equal, restored, stack_layers(params, config))


def test_paths_resolve_against_where_the_checkpoint_is_now():
    recorded = {"driver": "zarr", "dtype": "float32",
                "kvstore": {"driver": "gcs", "bucket": "t5x-dummy-bucket", "path": "target.x.kernel/"},
                "metadata": {"chunks": [2], "compressor": {"id": "gzip"}, "shape": [2]}}
    spec = resolve_spec(recorded, "gs://my-bucket/runs/flan/checkpoint_9")
    assert spec["kvstore"] == {"driver": "gcs", "bucket": "my-bucket", "path": "runs/flan/checkpoint_9/target.x.kernel/"}
    assert spec["metadata"] == {"shape": [2]}  # chunks and compressor come from .zarray
    local = resolve_spec(dict(recorded, kvstore={"driver": "gfile", "path": "target.x.kernel/"}), "/data/ckpt_1")
    assert local["kvstore"] == {"driver": "file", "path": "/data/ckpt_1/target.x.kernel/"}
    old = resolve_spec({"driver": "zarr", "path": "target.y", "kvstore": {"driver": "file"}, "metadata": {}}, "/d")
    assert old["kvstore"] == {"driver": "file", "path": "/d/target.y"}
