"""Test-wide settings, applied before any test module imports flanjax."""

import os
import tempfile

import pytest

# TF/absl log noise off; CPU only.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# With the `aot` extra (libtpu) installed JAX would probe for a TPU: tests run on the CPU
# (the planner's tests still compile for TPU topologies through libtpu).
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# The bundled demo data are built (in seconds) into a fresh directory per test process.
os.environ.setdefault("FLANJAX_DEMO_DATA_DIR", tempfile.mkdtemp(prefix="flanjax_demo_tfds_"))
# Tests never reach gs://: tasks of every collection tokenize with the bundled vocabulary.
os.environ.setdefault("FLANJAX_VOCAB", "bundled")
# `tfds.testing.mock_data` stands in for preparing TFDS datasets: let seqio ask for it (the
# default refuses unprepared datasets at once; see flanjax.data.sources.downloads_allowed).
os.environ.setdefault("FLANJAX_TFDS_DOWNLOAD", "1")


@pytest.fixture
def keep_prompt_record():
    """Tests that read fake prompt sources leave the process-wide record of prompts as it was."""
    from flanjax.data.templates import sources

    saved = {k: {"prompts": v["prompts"], "files": dict(v["files"])}
             for k, v in sources._USED.items()}  # pylint: disable=protected-access
    yield
    sources._USED.clear()  # pylint: disable=protected-access
    sources._USED.update(saved)  # pylint: disable=protected-access


@pytest.fixture(autouse=True)
def _data_settings_as_they_were():
    """A command run in-process sets data settings from gin (`--gin.VOCAB=...`) for the rest
    of its process (flanjax.data.locations); the next test starts from the environment's."""
    from flanjax.data import locations

    saved = dict(locations._OVERRIDES)  # pylint: disable=protected-access
    yield
    locations._OVERRIDES.clear()  # pylint: disable=protected-access
    locations._OVERRIDES.update(saved)  # pylint: disable=protected-access
