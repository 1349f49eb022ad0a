"""Hugging Face <-> flanjax conversion: round trips, transformers loading our export, errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import transformers
from _hf_t5 import hf_logits, make_hf_model, random_tokens, save
from safetensors.numpy import load_file, save_file

import jax

from flanjax.checkpoints import load_flanjax_checkpoint, save_flanjax_checkpoint
from flanjax.convert import check_params_match, load_hf_t5, save_hf_t5
from flanjax.model import T5Config, init_params


@pytest.mark.parametrize(
    "variant,scan", [("v1_0_relu_tied", False), ("odd_shapes", True), ("v1_1_gated_untied", False)]
)
def test_export_import_round_trip_is_exact(variant, scan, tmp_path):
    model = make_hf_model(variant, seed=8)
    source = save(model, str(tmp_path / "hf"))
    config, params = load_hf_t5(source, dtype="float32", scan_layers=scan)
    assert config.tie_word_embeddings == (variant == "v1_0_relu_tied")
    save_hf_t5(config, params, str(tmp_path / "export"))
    # Bit-exact in both directions: HF tensors and flanjax params.
    original = load_file(f"{source}/model.safetensors")
    exported = load_file(f"{tmp_path}/export/model.safetensors")
    assert set(exported) <= set(original) | {"lm_head.weight"}
    for name, array in exported.items():
        np.testing.assert_array_equal(array, original[name], err_msg=name)
    config2, params2 = load_hf_t5(str(tmp_path / "export"), dtype="float32", scan_layers=scan)
    assert config2 == config
    jax.tree_util.tree_map(np.testing.assert_array_equal, params, params2)

    # transformers loads the export and computes the same logits as the original.
    reloaded = transformers.T5ForConditionalGeneration.from_pretrained(str(tmp_path / "export"))
    reloaded.eval()
    rng = np.random.default_rng(9)
    enc = random_tokens(rng, config.vocab_size, [6, 2], 6)
    dec = random_tokens(rng, config.vocab_size, [4, 4], 4)
    np.testing.assert_array_equal(hf_logits(reloaded, enc, dec), hf_logits(model, enc, dec))


def test_sharded_safetensors_and_cli_round_trip(tmp_path):
    model = make_hf_model("v1_1_gated_untied", seed=10)
    model.save_pretrained(str(tmp_path / "hf"), max_shard_size="20KB")
    assert os.path.exists(tmp_path / "hf" / "model.safetensors.index.json")
    config, params = load_hf_t5(str(tmp_path / "hf"), dtype="float32")

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pythonpath = os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=pythonpath)
    run = lambda *args: subprocess.run(
        [sys.executable, "-m", "flanjax.convert", *args], check=True, env=env, capture_output=True
    )
    run("--from_hf", str(tmp_path / "hf"), "--out", str(tmp_path / "fj"))
    config2, params2 = load_flanjax_checkpoint(str(tmp_path / "fj"))
    assert config2 == config.replace(dtype="bfloat16")
    jax.tree_util.tree_map(np.testing.assert_array_equal, params, params2)
    run("--to_hf", str(tmp_path / "fj"), "--out", str(tmp_path / "back"))
    back = transformers.T5ForConditionalGeneration.from_pretrained(str(tmp_path / "back"))
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(back.state_dict()[name], tensor, rtol=0, atol=0, msg=name)


def test_flanjax_checkpoint_scan_layers(tmp_path):
    config = T5Config.tiny(vocab_size=64, scan_layers=True)
    params = jax.tree_util.tree_map(np.asarray, init_params(config, jax.random.key(0)))
    save_flanjax_checkpoint(config, params, str(tmp_path))
    config2, params2 = load_flanjax_checkpoint(str(tmp_path))
    assert config2 == config
    jax.tree_util.tree_map(np.testing.assert_array_equal, params, params2)


def test_shape_mismatch_names_parameter_and_shapes(tmp_path):
    model = make_hf_model("v1_1_gated_untied", seed=11)
    path = save(model, str(tmp_path))
    config_file = tmp_path / "config.json"
    hf_config = json.loads(config_file.read_text())
    hf_config["d_ff"] = 50
    config_file.write_text(json.dumps(hf_config))
    name = r"encoder\.block\.0\.layer\.1\.DenseReluDense\.wi_0\.weight"
    with pytest.raises(ValueError, match=name + r".*\(48, 32\).*\(50, 32\)"):
        load_hf_t5(path)

    config, params = load_hf_t5(save(model, str(tmp_path / "ok")))
    params["decoder"]["layers_0"]["mlp"]["wo"]["kernel"] = np.zeros((47, 32), np.float32)
    with pytest.raises(ValueError, match=r"decoder/layers_0/mlp/wo/kernel.*\(47, 32\).*\(48, 32\)"):
        check_params_match(config, params)


def test_missing_and_unexpected_parameters(tmp_path):
    model = make_hf_model("v1_1_gated_untied", seed=12)
    path = save(model, str(tmp_path))
    tensors = load_file(f"{path}/model.safetensors")
    hf_config = json.loads((tmp_path / "config.json").read_text())
    hf_config["num_layers"] = 3
    (tmp_path / "config.json").write_text(json.dumps(hf_config))
    with pytest.raises(ValueError, match=r"lacks parameter encoder\.block\.2"):
        load_hf_t5(path)
    hf_config["num_layers"] = 1
    (tmp_path / "config.json").write_text(json.dumps(hf_config))
    with pytest.raises(ValueError, match=r"does not account for.*encoder\.block\.1"):
        load_hf_t5(path)
    del tensors


def test_non_t5_config_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    save_file({"x": np.zeros(2, np.float32)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="model_type='bert'.*only T5"):
        load_hf_t5(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5", "d_model": 8}))
    with pytest.raises(ValueError, match="lacks the T5 fields"):
        load_hf_t5(str(tmp_path))


def test_pickled_weights_are_refused(tmp_path):
    model = make_hf_model("v1_0_relu_tied", seed=13)
    model.config.to_json_file(str(tmp_path / "config.json"))
    torch.save(model.state_dict(), str(tmp_path / "pytorch_model.bin"))
    with pytest.raises(ValueError, match="pickled.*safe_serialization"):
        load_hf_t5(str(tmp_path))
