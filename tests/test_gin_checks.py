"""Unknown gin macros and ill-typed macro values are one-line errors naming the macro."""

import gin
import pytest

from flanjax.cli import gin_checks

BASE = """
TRAIN_STEPS = 300
BATCH_SIZE = 16
TASK_FEATURE_LENGTHS = {'inputs': 128, 'targets': 32}
LR = 0.01
gin_checks_stub.steps = %TRAIN_STEPS
gin_checks_stub.lr = %LR
"""


@gin.configurable
def gin_checks_stub(steps=1, lr=0.0):  # a stand-in entry point (not named like a real one)
    return steps, lr


@pytest.fixture(autouse=True)
def _clear():
    gin.clear_config()
    yield
    gin.clear_config()


def _parse(extra=""):
    gin.parse_config(BASE + extra)


def test_misspelled_macro_names_the_closest():
    _parse("TRAIN_STESP = 20")
    with pytest.raises(gin_checks.GinCheckError) as e:
        gin_checks.check_unknown_macros(["BATCH_SIZE", "TASK_FEATURE_LENGTHS"], "flanjax.train")
    assert str(e.value) == ("unknown gin macro TRAIN_STESP: nothing in flanjax.train's config reads it; "
                            "did you mean TRAIN_STEPS?")


def test_known_macros_pass_and_far_names_list_the_known_ones():
    _parse()
    gin_checks.check_unknown_macros(["BATCH_SIZE", "TASK_FEATURE_LENGTHS"], "flanjax.train")
    gin.clear_config()
    _parse("ZZZ = 1")
    with pytest.raises(gin_checks.GinCheckError, match="ZZZ.*reads: BATCH_SIZE, LR, TASK_FEATURE_LENGTHS, TRAIN_STEPS"):
        gin_checks.check_unknown_macros(["BATCH_SIZE", "TASK_FEATURE_LENGTHS"], "flanjax.train")


@pytest.mark.parametrize("name, value, fragment", [
    ("TRAIN_STEPS", 20.5, "TRAIN_STEPS must be a positive integer, got 20.5 (float)"),
    ("TRAIN_STEPS", "abc", "TRAIN_STEPS must be a positive integer, got 'abc' (str)"),
    ("TRAIN_STEPS", True, "got True (bool)"),
    ("BATCH_SIZE", 16.5, "BATCH_SIZE must be a positive integer, got 16.5"),
    ("CHECKPOINT_PERIOD", 0, "CHECKPOINT_PERIOD must be a positive integer, got 0"),
    ("EVAL_PERIOD", -1, "EVAL_PERIOD must be an integer >= 0"),
    ("TASK_FEATURE_LENGTHS", 128, "TASK_FEATURE_LENGTHS must be a dict of positive integers"),
    ("TASK_FEATURE_LENGTHS", {"inputs": 128}, "got {'inputs': 128} (dict) (missing ['targets'])"),
    ("TASK_FEATURE_LENGTHS", {"inputs": 128, "targets": 0}, "targets': 0}"),
    ("RESUME_FROM_LAST_GOOD", "yes", "must be True or False"),
    ("MODEL_DIR", None, "MODEL_DIR must be a quoted string"),
])
def test_ill_typed_macros_name_the_macro(name, value, fragment):
    with pytest.raises(gin_checks.GinCheckError) as e:
        gin_checks.check_macro_types({name: value})
    msg = str(e.value)
    assert len(msg.splitlines()) == 1 and fragment in msg and f"--gin.{name}=" in msg, msg


def test_good_values_pass():
    gin_checks.check_macro_types({
        "TRAIN_STEPS": 20, "BATCH_SIZE": 8, "CHECKPOINT_PERIOD": 10, "EVAL_PERIOD": 0,
        "TASK_FEATURE_LENGTHS": {"inputs": 64, "targets": 16}, "MODEL_DIR": "/tmp/x",
        "INITIAL_CHECKPOINT_PATH": None, "RESUME_FROM_LAST_GOOD": False, "SEED": 0, "OTHER": object(),
    })
