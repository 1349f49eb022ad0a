"""Held-out experiments: the leave-one-cluster-out grid, the number-of-clusters sweep.

  grid      fine-tune on `{mixture}_minus_{C}` per cluster C, evaluate C zero-shot, gain table
  sweep     FLAN's held-out score vs number of training clusters (Wei et al. 2021, Fig. 6)
  commands  the same runs as TPU launch commands (`python -m flanjax.heldout --dry_run`)
  finetune  one run through the trainer's Python API (`flanjax.train.loop.train`)
"""
