"""Super-NaturalInstructions through seqio: `niv2_zs` / `niv2_fs` read FLANJAX_SNI_DIR."""

import json

import pytest
import seqio

import flanjax.data.mixtures  # noqa: F401  (registers niv2 tasks)


def _write_task(directory, name, n):
    task = {
        "Definition": ["Repeat the word given in the input."],
        "Positive Examples": [
            {"input": "apple", "output": "apple", "explanation": "The word is repeated."},
            {"input": "stone", "output": "stone", "explanation": "Same word."},
        ],
        "Negative Examples": [],
        "Instances": [{"id": f"{name}-{i}", "input": f"word{i}", "output": [f"word{i}"]} for i in range(n)],
        "Categories": ["Text Copying"],
    }
    (directory / f"{name}.json").write_text(json.dumps(task))


def _read(name):
    ds = seqio.get_mixture_or_task(name).get_dataset(
        sequence_length={"inputs": 256, "targets": 16}, split="train", shuffle=False, num_epochs=1
    )
    return list(ds.as_numpy_iterator())


def test_niv2_reads_the_directory_honours_split_and_cap(tmp_path, monkeypatch):
    _write_task(tmp_path, "task001_copy", 5)
    _write_task(tmp_path, "task002_copy", 3)
    _write_task(tmp_path, "task003_unused", 4)
    split = tmp_path / "train_tasks.txt"
    split.write_text("task001_copy\ntask002_copy\n")
    monkeypatch.setenv("FLANJAX_SNI_DIR", str(tmp_path))
    monkeypatch.setenv("FLANJAX_SNI_SPLIT", str(split))
    monkeypatch.setenv("FLANJAX_SNI_MAX_PER_TASK", "4")
    zs = _read("niv2_zs")
    # task001 capped at 4, task002 has 3, task003 not in the split.
    assert len(zs) == 7
    # The SNI encoding (Tk-Instruct's collator): definition, then the instance.
    assert zs[0]["inputs_pretokenized"].decode() == (
        "Definition: Repeat the word given in the input.\n\n"
        "Now complete the following example -\nInput: word0.\nOutput: "
    )
    assert zs[0]["targets_pretokenized"].decode() == "word0"
    fs = _read("niv2_fs")
    assert "Positive Example 2" in fs[0]["inputs_pretokenized"].decode()


def test_niv2_without_directory_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv("FLANJAX_SNI_DIR", raising=False)
    with pytest.raises(Exception, match="FLANJAX_SNI_DIR"):
        _read("niv2_zs")
