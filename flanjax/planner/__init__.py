"""Planning a pod run from a CPU host: the fast `eval_shape` estimate (`estimate`) and the
ahead-of-time compile for a TPU slice (`topology`, `aot`, `recipe`, `roofline`, `table`)."""
