"""A flanjax model exported with its tokenizer loads in transformers with equal logits."""

import os
import stat

import jax
import numpy as np
import torch
import transformers

from flanjax.convert import export
from flanjax.data import vocab_files
from flanjax.data.vocab import get_vocabulary
from flanjax.model import T5, T5Config, abstract_params


def _random_params(config, seed=0):
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: (0.3 * rng.standard_normal(s.shape)).astype(np.float32), abstract_params(config))


def test_export_loads_in_transformers_with_equal_logits(tmp_path):
    vocab = get_vocabulary("bundled")
    run = tmp_path / "run"
    assert vocab_files.record_vocabulary(vocab, str(run))
    recorded = vocab_files.recorded_vocabulary(str(run))
    assert recorded.extra_ids == 0 and recorded.vocab_size == vocab.vocab_size

    config = T5Config.tiny(vocab_size=896, dtype="float32", num_encoder_layers=2, num_decoder_layers=1)
    params = _random_params(config)
    out = tmp_path / "hf"
    written = export.save_hf_export(config, params, str(out), spm_model=str(run / vocab_files.SPM_FILE))
    for name in written:
        mode = stat.S_IMODE(os.stat(out / name).st_mode)
        assert mode & 0o044 == 0o044, (name, oct(mode))  # group/others can read

    tok = transformers.AutoTokenizer.from_pretrained(str(out))
    model = transformers.T5ForConditionalGeneration.from_pretrained(str(out)).eval()
    text = "Write these words backwards, last word first: hat bag brown banana"
    ids = tok(text).input_ids
    assert ids == vocab.encode(text) + [1]
    dec = [0] + vocab.encode("banana brown bag hat")
    with torch.no_grad():
        ref = model(input_ids=torch.tensor([ids]), decoder_input_ids=torch.tensor([dec])).logits.numpy()
    ours = np.asarray(T5(config).apply({"params": params}, np.array([ids]), np.array([dec])))
    np.testing.assert_allclose(ours[..., : ref.shape[-1]], ref, rtol=1e-4, atol=1e-4)
    assert tok.decode(ids, skip_special_tokens=True) == text
