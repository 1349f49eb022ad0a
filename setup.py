"""flanjax: instruction tuning (FLAN / T0 / SNI / Flan 2022) with JAX, Flax and seqio."""

import setuptools

# Version ranges are the ones the test suite is run against (see ../shared/TIPS.md).
INSTALL_REQUIRES = [
    "jax>=0.10,<0.11",
    "flax>=0.12,<0.13",
    "optax>=0.2.8,<0.3",
    "orbax-checkpoint>=0.12,<0.13",
    "seqio>=0.0.20,<0.1",
    "tensorflow-cpu>=2.21,<2.22",
    "tensorflow-text>=2.21,<2.22",
    "tensorflow-datasets>=4.9.10,<4.10",
    "gin-config>=0.5,<0.6",
    # 0.2.3 is built with protobuf 7 gencode; apache-beam (the [cache] extra) needs protobuf < 7,
    # and 0.2.2 works with both.
    "sentencepiece>=0.2,<0.2.3",
    "jinja2>=3.1",
    "pyyaml>=6",
    "rouge-score>=0.1.2,<0.2",
    "sacrebleu>=2.4,<3",
    "matplotlib>=3.8",
    "numpy>=1.26",
    "absl-py>=2",
    "clu>=0.0.12",
    # TFDS imports it for builder resources but does not declare it.
    "importlib_resources>=6",
    # Hugging Face checkpoints (safetensors) load without the [hf] extra.
    "safetensors>=0.4",
]

EXTRAS_REQUIRE = {
    # Cloud TPU VMs: libtpu comes with jax's tpu extra.
    "tpu": ["jax[tpu]>=0.10,<0.11"],
    "gpu": ["jax[cuda12]>=0.10,<0.11"],
    # transformers/torch only as numerical reference and for checkpoint conversion.
    # torch is pinned to the CPU wheel that the test machines carry; a bare `torch`
    # requirement would pull a multi-GB CUDA build.
    "hf": [
        "transformers>=5,<6",
        "torch==2.13.0",
        "safetensors>=0.4",
        "datasets>=3",
    ],
    # Offline task caches (`python -m flanjax.data.cache`): seqio's Beam cache job. Beam
    # pins protobuf < 7 and pyarrow < 26: pip resolves the set with tensorflow together.
    "cache": ["apache-beam>=2.77,<3", "google-crc32c>=1.5"],  # Beam needs a crc32c for TFRecords
    # `python -m flanjax.data.export` (a Beam pipeline) and Parquet instruction files
    # (INSTRUCTION_FILES); pyarrow < 26 as Beam pins it.
    "export": ["apache-beam>=2.77,<3", "google-crc32c>=1.5", "pyarrow>=14,<26"],
    # Compiling for a TPU slice on a CPU host (`python -m flanjax.plan --compile`): libtpu
    # alone, the version jax 0.10.2's `tpu` extra pins. JAX keeps running on the CPU
    # (flanjax sets JAX_PLATFORMS=cpu when no TPU is attached; flanjax.hostmem).
    "aot": ["libtpu==0.0.42.*"],
    # The TensorBoard viewer for the event files every run writes (`tensorboard --logdir ...`).
    "viz": ["tensorboard>=2.15"],
    "test": ["pytest>=8", "pytest-xdist>=3"],
}

setuptools.setup(
    name="flanjax",
    version="0.1.0",
    description="Instruction tuning (FLAN, T0, Super-NaturalInstructions, Flan 2022) in JAX/Flax.",
    packages=setuptools.find_packages(include=["flanjax", "flanjax.*"]),
    package_data={
        "flanjax": [
            "data/bundled/*.model",
            "data/bundled/*.vocab",
            "data/catalog/t0_templates/*.yaml",
            # The gin files: `--gin_file=runs/demo.gin` after a plain `pip install`.
            "configs/*.gin",
            "configs/*/*.gin",
            "configs/*/*/*.gin",
        ]
    },
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={
        "console_scripts": [
            "flanjax-inspect=flanjax.cli.inspect_data:main",
        ]
    },
)
