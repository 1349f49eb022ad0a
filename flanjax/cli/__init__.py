"""The commands people type, each a thin `main(argv) -> int` behind one runner.

  runner         the process preamble and epilogue (host memory, logging, multi-host
                 initialisation, bad input -> one `error:` line and exit status 2)
  gin_setup      flag parsing, the packaged configs, the only place gin is bound
  train          python -m flanjax.train
  evaluate       python -m flanjax.eval
  infer          python -m flanjax.infer
  convert        python -m flanjax.convert
  inspect_data   python -m flanjax.data.inspect
  contamination  python -m flanjax.contamination
  heldout        python -m flanjax.heldout (grid, sweep)
  demo           python -m flanjax.demo (make demo)
`python -m flanjax.plan` keeps its command in `flanjax/plan.py` beside `flanjax.planner`.
"""
