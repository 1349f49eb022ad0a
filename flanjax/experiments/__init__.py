"""Held-out experiments: the leave-one-cluster-out grid, the number-of-clusters sweep.

  grid      fine-tune on `{mixture}_minus_{C}` per cluster C, evaluate C zero-shot, gain table
  sweep     FLAN's held-out score vs number of training clusters (Wei et al. 2021, Fig. 6)
  commands  each run as its `python -m flanjax.train` command line (what the grid runs and prints)
  recipes   the gin file a grid's runs start from (the size's experiment file)
"""
