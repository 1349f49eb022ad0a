"""`python tests/_blocked_first_batch.py [train flags]`: `python -m flanjax.train` whose first
batch never comes.

The training stream is replaced by a tf.data dataset whose generator prints one line and
then waits for ever, so that the main thread sits inside tf.data's C++ `IteratorGetNext`,
where Python signal handlers cannot run: a first batch of 10^9 rows did that for minutes
(issue 23, item 4). The test signals the process once the line is out.
"""

import sys
import threading

from flanjax.train import input_pipeline

BLOCKED_LINE = "test: the first batch is blocked"


def blocked_host_batches(ds, start_step):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    del start_step

    def rows():
        print(BLOCKED_LINE, flush=True)
        threading.Event().wait()  # never set
        yield from ()

    return tf.data.Dataset.from_generator(rows, output_signature=ds.element_spec).as_numpy_iterator()


if __name__ == "__main__":
    input_pipeline.train_host_batches = blocked_host_batches
    from flanjax.cli import runner  # pylint: disable=g-import-not-at-top

    runner.run("flanjax.cli.train", sys.argv[1:])
