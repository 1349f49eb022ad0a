"""`make demo INIT=DIR` in miniature: a tiny Hugging Face T5 converted, fine-tuned, evaluated."""

import os
import shutil

import torch
import transformers

from flanjax.cli import runner
from flanjax.data.vocab import BUNDLED_SPM_PATH


def test_demo_from_hf_init(tmp_path, capsys, monkeypatch):
    # The demo points the demo tasks at the checkpoint's spiece.model (FLANJAX_DEMO_VOCAB);
    # undo that afterwards.
    monkeypatch.setenv("FLANJAX_DEMO_VOCAB", "")  # restored (unset) at teardown
    torch.manual_seed(0)
    config = transformers.T5Config(
        vocab_size=896, d_model=32, d_kv=8, d_ff=48, num_layers=1, num_heads=2,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0,
    )
    hf_dir = str(tmp_path / "hf")
    transformers.T5ForConditionalGeneration(config).save_pretrained(hf_dir)
    shutil.copy(BUNDLED_SPM_PATH, os.path.join(hf_dir, "spiece.model"))
    out = str(tmp_path / "demo")
    code = runner.call("flanjax.cli.demo", ["--out", out, "--init", hf_dir, "--steps", "3", "--batch_size", "8",
                      "--max_eval_examples", "2"])
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    assert "| minus_nli | nli | held out |" in stdout
    assert "| minus_nli | sentiment | seen |" in stdout
    assert f"from {hf_dir}" in stdout
    assert "held-out curve while training: " in stdout
    for name in ("results.md", "results.json", "datasets.png", "heldout_vs_clusters.png",
                 "init/flanjax_config.json", "minus_nli/train_metrics.jsonl",
                 "minus_nli/heldout_curve.png"):
        assert os.path.exists(os.path.join(out, name)), name
    assert os.listdir(os.path.join(out, "minus_nli", "tensorboard"))
