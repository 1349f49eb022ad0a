"""Tests for tpu_scripts/*.sh: the exact gcloud commands of --dry_run, settings from flags and
env files, the errors for missing settings, --help, and a run -> tail -> stop cycle against
a fake `gcloud` that runs the workers' commands on this machine.

No gcloud, network or accelerator is needed. Each test copies the scripts into its tmp_path,
so a tpu_scripts/tpu.env of the developer's checkout never leaks in, and runs them with a
clean environment that holds decoy settings (ZONE, PROJECT, ...) the scripts must ignore.
"""

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "tpu_scripts"
SCRIPTS = ["create", "setup", "run", "tail", "stop", "delete"]
FLAGS = ["--project=proj-1", "--zone=us-central2-b", "--tpu_name=tpu-a"]
CREATE_FLAGS = FLAGS + ["--accelerator_type=v4-32", "--runtime_version=tpu-ubuntu2204-base"]
LOC = "--project=proj-1 --zone=us-central2-b"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout holding only tpu_scripts/ (no tpu.env)."""
    shutil.copytree(SCRIPTS_DIR, tmp_path / "repo" / "tpu_scripts",
                    ignore=shutil.ignore_patterns("tpu.env"))
    (tmp_path / "home").mkdir()
    return tmp_path / "repo"


def _env(repo: Path, **extra: str) -> dict:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.parent / "home"),
        "TMPDIR": "/tmp",
        "LC_ALL": "C",
        # Decoys: settings come from flags and the env file only.
        "PROJECT": "leaked-project", "ZONE": "leaked-zone", "TPU_NAME": "leaked-tpu",
        "RUN_ID": "leaked-run", "DRY_RUN": "false",
    }
    env.update(extra)
    return env


def sh(repo: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(repo / "tpu_scripts" / f"{script}.sh"), *args],
        env=_env(repo, **env), cwd=repo, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=60,
    )


def dry(repo: Path, script: str, *args: str) -> list[str]:
    """The printed commands of a --dry_run that must succeed."""
    proc = sh(repo, script, "--dry_run", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def remote(line: str) -> str:
    """The --command=... of a printed `gcloud ... ssh` line, unquoted as a shell would."""
    (command,) = [w for w in shlex.split(line) if w.startswith("--command=")]
    return command[len("--command="):]


# ---------------------------------------------------------------------------------- create


def test_create_plain(repo):
    assert dry(repo, "create", *CREATE_FLAGS) == [
        "gcloud compute tpus tpu-vm create tpu-a --project=proj-1 --zone=us-central2-b"
        " --accelerator-type=v4-32 --version=tpu-ubuntu2204-base",
    ]


@pytest.mark.parametrize("flag, gcloud_flag", [("--spot", " --spot"),
                                               ("--preemptible", " --preemptible"),
                                               ("--spot=false", "")])
def test_create_capacity_variants(repo, flag, gcloud_flag):
    assert dry(repo, "create", *CREATE_FLAGS, flag) == [
        "gcloud compute tpus tpu-vm create tpu-a --project=proj-1 --zone=us-central2-b"
        " --accelerator-type=v4-32 --version=tpu-ubuntu2204-base" + gcloud_flag,
    ]


def test_create_queued_spot_with_extra_gcloud_flags(repo):
    lines = dry(repo, "create", *CREATE_FLAGS, "--queued", "--spot", "--",
                "--network=my net", "--labels=owner=me")
    assert lines == [
        "gcloud compute tpus queued-resources create tpu-a --project=proj-1 --zone=us-central2-b"
        " --node-id=tpu-a --accelerator-type=v4-32 --runtime-version=tpu-ubuntu2204-base"
        " --spot '--network=my net' --labels=owner=me",
        "gcloud compute tpus queued-resources describe tpu-a --project=proj-1"
        " --zone=us-central2-b '--format=value(state.state)'",
    ]


def test_create_queued_own_id_no_wait(repo):
    assert dry(repo, "create", *CREATE_FLAGS, "--queued", "--queued_resource_id=qr-7",
               "--no_wait") == [
        "gcloud compute tpus queued-resources create qr-7 --project=proj-1 --zone=us-central2-b"
        " --node-id=tpu-a --accelerator-type=v4-32 --runtime-version=tpu-ubuntu2204-base",
    ]


@pytest.mark.parametrize("flags, message", [
    (["--spot", "--preemptible"], "SPOT and PREEMPTIBLE are both set"),
    (["--queued", "--preemptible"], "queued resources have no PREEMPTIBLE"),
    (["--spot=maybe"], "--spot must be true or false"),
    (["--poll_s=soon"], "--poll_s must be a whole number"),
    (["--bogus=1"], "unknown option --bogus"),
    (["stray"], "unexpected argument 'stray'"),
])
def test_create_bad_usage_exits_2(repo, flags, message):
    proc = sh(repo, "create", "--dry_run", *CREATE_FLAGS, *flags)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""


# -------------------------------------------------------------------------------- settings

ENV_FILE = """\
# a comment line, then settings in the shapes people write them
PROJECT=proj-1
export ZONE="us-central2-b"   # quoted, exported, commented
TPU_NAME='tpu-a'
ACCELERATOR_TYPE=v4-32        # 16 chips, 4 workers
RUNTIME_VERSION=tpu-ubuntu2204-base

SPOT=yes
QUEUED=False
MODEL_DIR=gs://bucket/run-1
"""


def test_env_file_gives_the_same_commands_as_flags(repo, tmp_path):
    env_file = tmp_path / "my.env"
    env_file.write_text(ENV_FILE)
    assert dry(repo, "create", f"--env={env_file}") == dry(repo, "create", *CREATE_FLAGS, "--spot")
    assert dry(repo, "create", "--env", str(env_file)) == dry(repo, "create", *CREATE_FLAGS,
                                                              "--spot")


def test_flags_override_the_env_file(repo, tmp_path):
    env_file = tmp_path / "my.env"
    env_file.write_text(ENV_FILE)
    assert dry(repo, "create", "--zone", "europe-west4-a", "--spot=false", "--env", str(env_file),
               "--tpu-name=tpu-b") == [
        "gcloud compute tpus tpu-vm create tpu-b --project=proj-1 --zone=europe-west4-a"
        " --accelerator-type=v4-32 --version=tpu-ubuntu2204-base",
    ]


def test_default_env_file_is_tpu_scripts_tpu_env(repo):
    (repo / "tpu_scripts" / "tpu.env").write_text(ENV_FILE)
    assert dry(repo, "delete") == [f"gcloud compute tpus tpu-vm delete tpu-a {LOC} --quiet"]
    # --env= turns the default file off.
    proc = sh(repo, "delete", "--dry_run", "--env=")
    assert proc.returncode == 2 and "PROJECT is not set" in proc.stderr


@pytest.mark.parametrize("content, message", [
    ("ZONE=a\nZONEE=b\n", "my.env:2: unknown setting ZONEE"),
    ("PROJECT\n", "my.env:1: expected KEY=VALUE"),
    ("QUEUED=perhaps\n", "QUEUED must be true or false"),
    ("MODEL_DIR=gs://b/$USER\n", "quote the value of MODEL_DIR"),
])
def test_env_file_errors_name_file_line_and_setting(repo, tmp_path, content, message):
    (tmp_path / "my.env").write_text(content)
    proc = sh(repo, "create", "--dry_run", "--env", str(tmp_path / "my.env"))
    assert proc.returncode == 2
    assert message in proc.stderr


def test_missing_env_file_is_an_error(repo, tmp_path):
    proc = sh(repo, "stop", "--dry_run", "--env", str(tmp_path / "nope.env"))
    assert proc.returncode == 2 and "nope.env does not exist" in proc.stderr


REQUIRED = {
    "create": ["PROJECT", "ZONE", "TPU_NAME", "ACCELERATOR_TYPE", "RUNTIME_VERSION"],
    "setup": ["PROJECT", "ZONE", "TPU_NAME"],
    "run": ["PROJECT", "ZONE", "TPU_NAME"],
    "tail": ["PROJECT", "ZONE", "TPU_NAME"],
    "stop": ["PROJECT", "ZONE", "TPU_NAME"],
    "delete": ["PROJECT", "ZONE", "TPU_NAME"],
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_missing_settings_are_named_with_how_to_set_them(repo, script):
    proc = sh(repo, script, "--dry_run", "--", "python", "-m", "flanjax.train")
    assert proc.returncode == 2
    assert proc.stdout == ""
    for var in REQUIRED[script]:
        assert (f"{var} is not set: pass --{var.lower()}=... or put {var}=... in an env file"
                in proc.stderr)
    # Exactly the required ones, none other.
    assert proc.stderr.count("is not set") == len(REQUIRED[script])


def test_missing_setting_names_the_env_file_in_use(repo, tmp_path):
    (tmp_path / "my.env").write_text("PROJECT=p\nZONE=z\n")
    proc = sh(repo, "stop", "--dry_run", "--env", str(tmp_path / "my.env"))
    assert proc.returncode == 2
    assert f"TPU_NAME is not set: pass --tpu_name=... or put TPU_NAME=... in {tmp_path}/my.env" \
        in proc.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(repo, script):
    proc = sh(repo, script, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Usage: tpu_scripts/{script}.sh")
    for text in ("--dry_run", "--env FILE", "Required:", "Exit status"):
        assert text in proc.stdout
    assert sh(repo, script, "-h").stdout == proc.stdout


# ----------------------------------------------------------------------------------- setup

SETUP_REMOTE = (
    "set -e; mkdir -p flanjax;"
    " find flanjax -mindepth 1 -maxdepth 1 ! -name .venv ! -name logs -exec rm -rf {} +;"
    " tar -xzf flanjax-src.tar.gz -C flanjax; rm -f flanjax-src.tar.gz; cd flanjax;"
    " mkdir -p logs; export PATH=\"$HOME/.local/bin:$PATH\";"
    " if ! command -v uv >/dev/null; then python3 -m pip install --user --quiet uv"
    " || curl -LsSf https://astral.sh/uv/install.sh | sh; fi;"
    " uv venv --quiet --allow-existing --python 3.11 .venv;"
    " uv pip install --quiet --python .venv/bin/python -e '.[tpu]';"
    " echo \"$(hostname): flanjax installed in $PWD\""
)


def test_setup(repo):
    lines = dry(repo, "setup", *FLAGS)
    assert lines == [
        f"git -C {repo} archive --format=tar.gz --output=/tmp/flanjax-tpu-a.tar.gz HEAD",
        "gcloud compute tpus tpu-vm scp /tmp/flanjax-tpu-a.tar.gz tpu-a:flanjax-src.tar.gz"
        f" {LOC} --worker=all",
        f"gcloud compute tpus tpu-vm ssh tpu-a {LOC} --worker=all '--command=set -e;"
        " mkdir -p flanjax;"
        " find flanjax -mindepth 1 -maxdepth 1 ! -name .venv ! -name logs -exec rm -rf {} +;"
        " tar -xzf flanjax-src.tar.gz -C flanjax; rm -f flanjax-src.tar.gz; cd flanjax;"
        " mkdir -p logs; export PATH=\"$HOME/.local/bin:$PATH\";"
        " if ! command -v uv >/dev/null; then python3 -m pip install --user --quiet uv"
        " || curl -LsSf https://astral.sh/uv/install.sh | sh; fi;"
        " uv venv --quiet --allow-existing --python 3.11 .venv;"
        " uv pip install --quiet --python .venv/bin/python -e '\"'\"'.[tpu]'\"'\"';"
        " echo \"$(hostname): flanjax installed in $PWD\"'",
    ]
    assert remote(lines[2]) == SETUP_REMOTE


def test_setup_options(repo):
    lines = dry(repo, "setup", *FLAGS, "--git_ref=v0.2", "--repo_dir=~/work/fj",
                "--python_version=3.12", "--check")
    assert lines[0] == (f"git -C {repo} archive --format=tar.gz"
                        " --output=/tmp/flanjax-tpu-a.tar.gz v0.2")
    assert remote(lines[2]) == (SETUP_REMOTE.replace("flanjax;", "work/fj;")
                                .replace("find flanjax", "find work/fj")
                                .replace("-C flanjax", "-C work/fj")
                                .replace("--python 3.11", "--python 3.12"))
    assert lines[3] == (
        f"gcloud compute tpus tpu-vm ssh tpu-a {LOC} --worker=all '--command=cd work/fj &&"
        " .venv/bin/python -c '\"'\"'import jax; print(jax.process_index(),"
        " jax.device_count())'\"'\"''"
    )


@pytest.mark.parametrize("repo_dir", ["/", "~", "..", "a/../b", "."])
def test_unsafe_repo_dir_is_refused(repo, repo_dir):
    proc = sh(repo, "setup", "--dry_run", *FLAGS, f"--repo_dir={repo_dir}")
    assert proc.returncode == 2 and "not a safe directory" in proc.stderr


# ------------------------------------------------------------------------------------- run

RUN_GUARD = (
    "if [ -f logs/LATEST ] && ps -o stat= -p \"$(cat \"logs/$(cat logs/LATEST).pid\" 2>/dev/null)\""
    " 2>/dev/null | grep -qv Z; then echo \"$(hostname): run $(cat logs/LATEST) is still running;"
    " stop it with tpu_scripts/stop.sh\" >&2; exit 1; fi"
)


def run_remote(run_id: str, command: str) -> str:
    return (
        f"set -e; cd flanjax; mkdir -p logs; {RUN_GUARD}; echo {run_id} > logs/LATEST;"
        f" PATH=\"$PWD/.venv/bin:$PATH\" setsid nohup {command} >> logs/{run_id}.log 2>&1"
        f" < /dev/null & echo $! > logs/{run_id}.pid;"
        f" echo \"$(hostname): started {run_id}, pid $(cat logs/{run_id}.pid),"
        f" log $PWD/logs/{run_id}.log\""
    )


def test_run_on_all_workers(repo):
    lines = dry(repo, "run", *FLAGS, "--run_id=ft-1", "--model_dir=gs://b/ft-1", "--",
                "python", "-m", "flanjax.train", "--gin_file=gin_configs/runs/finetune.gin",
                "--gin.TRAIN_STEPS=1000")
    assert lines == [
        f"gcloud compute tpus tpu-vm ssh tpu-a {LOC} --worker=all '--command=set -e;"
        " cd flanjax; mkdir -p logs; if [ -f logs/LATEST ] && ps -o stat= -p"
        " \"$(cat \"logs/$(cat logs/LATEST).pid\" 2>/dev/null)\" 2>/dev/null | grep -qv Z; then"
        " echo \"$(hostname): run $(cat logs/LATEST) is still running; stop it with"
        " tpu_scripts/stop.sh\" >&2; exit 1; fi; echo ft-1 > logs/LATEST;"
        " PATH=\"$PWD/.venv/bin:$PATH\" setsid nohup python -m flanjax.train"
        " --gin_file=gin_configs/runs/finetune.gin --gin.TRAIN_STEPS=1000"
        " '\"'\"'--gin.MODEL_DIR=\"gs://b/ft-1\"'\"'\"' >> logs/ft-1.log 2>&1 < /dev/null &"
        " echo $! > logs/ft-1.pid; echo \"$(hostname): started ft-1, pid $(cat logs/ft-1.pid),"
        " log $PWD/logs/ft-1.log\"'",
    ]
    assert remote(lines[0]) == run_remote(
        "ft-1", "python -m flanjax.train --gin_file=gin_configs/runs/finetune.gin"
        " --gin.TRAIN_STEPS=1000 '--gin.MODEL_DIR=\"gs://b/ft-1\"'")


def test_run_keeps_an_explicit_model_dir_and_quotes_each_word(repo):
    lines = dry(repo, "run", *FLAGS, "--run_id=r2", "--model_dir=gs://b/env", "--",
                "python", "-m", "flanjax.eval", '--gin.MODEL_DIR="gs://b/mine"',
                "--gin.MIXTURE_OR_TASK_NAME='t0_heldout'")
    assert remote(lines[0]) == run_remote(
        "r2", "python -m flanjax.eval '--gin.MODEL_DIR=\"gs://b/mine\"'"
        " '--gin.MIXTURE_OR_TASK_NAME='\"'\"'t0_heldout'\"'\"''")


def test_run_takes_one_word_with_spaces_as_a_command_line(repo):
    lines = dry(repo, "run", *FLAGS, "--run_id=r3", "--model_dir=gs://b/m", "--",
                "for c in a b; do T=gs://b/t python3 -m flanjax.eval --c=\"$c\"; done")
    # Run by its own bash; MODEL_DIR is never appended to a command line.
    assert remote(lines[0]) == run_remote(
        "r3", "bash -c 'for c in a b; do T=gs://b/t python3 -m flanjax.eval --c=\"$c\"; done'")


def test_run_without_command_or_with_bad_run_id_exits_2(repo):
    proc = sh(repo, "run", "--dry_run", *FLAGS)
    assert proc.returncode == 2 and "no command given" in proc.stderr
    proc = sh(repo, "run", "--dry_run", *FLAGS, "--run_id=a b;rm", "--", "true")
    assert proc.returncode == 2 and "run id 'a b;rm'" in proc.stderr


def test_run_id_defaults_to_utc_time(repo):
    (line,) = dry(repo, "run", *FLAGS, "--", "true")
    run_id = remote(line).split("echo ")[2].split(" > logs/LATEST")[0]
    assert len(run_id) == 15 and run_id[8] == "-" and run_id.replace("-", "").isdigit()


# ------------------------------------------------------------------------ tail, stop, delete


def test_tail(repo):
    assert dry(repo, "tail", *FLAGS) == [
        f"gcloud compute tpus tpu-vm ssh tpu-a {LOC} --worker=0 '--command=set -e; cd flanjax;"
        " id=$(cat logs/LATEST); tail -n 100 -F \"logs/$id.log\"'",
    ]
    assert dry(repo, "tail", *FLAGS, "--worker=all", "--run_id=ft-1", "--no_follow",
               "--num_lines=20") == [
        f"gcloud compute tpus tpu-vm ssh tpu-a {LOC} --worker=all '--command=set -e;"
        " cd flanjax; id=ft-1; tail -n 20 \"logs/$id.log\" | sed -u \"s/^/$(hostname): /\"'",
    ]


def test_tail_fetch_one_scp_per_worker(repo):
    lines = dry(repo, "tail", *FLAGS, "--accelerator_type=v4-32", "--fetch=out")
    expected = []
    for w in range(4):
        expected += [f"mkdir -p out/worker-{w}",
                     f"gcloud compute tpus tpu-vm scp --recurse tpu-a:flanjax/logs out/worker-{w}"
                     f" {LOC} --worker={w}"]
    assert lines == expected
    assert len(dry(repo, "tail", *FLAGS, "--accelerator_type=v5litepod-16", "--fetch=o")) == 8
    assert len(dry(repo, "tail", *FLAGS, "--num_workers=2", "--fetch=o")) == 4
    proc = sh(repo, "tail", "--dry_run", *FLAGS, "--accelerator_type=tpu7x-9", "--fetch=o")
    assert proc.returncode == 2 and "pass --num_workers" in proc.stderr
    proc = sh(repo, "tail", "--dry_run", *FLAGS, "--fetch=o")
    assert proc.returncode == 2 and "ACCELERATOR_TYPE is not set" in proc.stderr


def test_stop(repo):
    assert dry(repo, "stop", *FLAGS, "--grace_s=5") == [
        f"gcloud compute tpus tpu-vm ssh tpu-a {LOC} --worker=all '--command=set -e;"
        " cd flanjax; id=$(cat logs/LATEST 2>/dev/null || true);"
        " pid=$(cat \"logs/$id.pid\" 2>/dev/null || true);"
        " if ! ps -o stat= -p \"${pid:-0}\" 2>/dev/null | grep -qv Z; then"
        " echo \"$(hostname): run ${id:-?} is not running\"; exit 0; fi;"
        " kill -TERM -- \"-$pid\" 2>/dev/null || true; i=0;"
        " while ps -o stat= -p \"$pid\" | grep -qv Z && [ \"$i\" -lt 5 ]; do sleep 1;"
        " i=$((i + 1)); done;"
        " kill -KILL -- \"-$pid\" 2>/dev/null || true; rm -f /tmp/libtpu_lockfile;"
        " echo \"$(hostname): stopped $id\"'",
    ]
    (line,) = dry(repo, "stop", *FLAGS, "--run_id=ft-1")
    assert "; id=ft-1; " in remote(line)


def test_delete(repo):
    assert dry(repo, "delete", *FLAGS) == [
        f"gcloud compute tpus tpu-vm delete tpu-a {LOC} --quiet"]
    assert dry(repo, "delete", *FLAGS, "--queued", "--queued_resource_id=qr-7") == [
        f"gcloud compute tpus queued-resources delete qr-7 {LOC} --force --quiet"]


# --------------------------------------------------------- real mode against a fake gcloud

FAKE_GCLOUD = """\
#!{python}
# A stand-in for gcloud: logs its argv, answers `queued-resources describe` from a list of
# states, and runs `tpu-vm ssh --command=...` here, in $FAKE_WORKER_HOME (one worker).
import os, shlex, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GCLOUD_LOG"], "a") as f:
    f.write(shlex.join(["gcloud", *args]) + "\\n")
if args[2:4] == ["queued-resources", "describe"]:
    path = os.environ["FAKE_QR_STATES"]
    states = open(path).read().split()
    print(states[0])
    open(path, "w").write(" ".join(states[1:] or states))
elif args[2:4] == ["tpu-vm", "ssh"]:
    (command,) = [a[len("--command="):] for a in args if a.startswith("--command=")]
    sys.exit(subprocess.run(["bash", "-c", command], cwd=os.environ["FAKE_WORKER_HOME"]).returncode)
"""


@pytest.fixture
def fake(repo, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gcloud = bin_dir / "gcloud"
    gcloud.write_text(FAKE_GCLOUD.format(python=sys.executable))
    gcloud.chmod(0o755)
    worker = tmp_path / "worker"
    (worker / "flanjax").mkdir(parents=True)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_GCLOUD_LOG": str(tmp_path / "gcloud.log"),
        "FAKE_QR_STATES": str(tmp_path / "states"),
        "FAKE_WORKER_HOME": str(worker),
    }

    def calls() -> list[str]:
        log = tmp_path / "gcloud.log"
        return log.read_text().splitlines() if log.exists() else []

    return env, calls, worker


def test_real_mode_runs_what_dry_run_prints(repo, fake):
    env, calls, _ = fake
    Path(env["FAKE_QR_STATES"]).write_text("WAITING_FOR_RESOURCES PROVISIONING ACTIVE")
    args = [*CREATE_FLAGS, "--queued", "--spot", "--poll_s=0"]
    proc = sh(repo, "create", *args, **env)
    assert proc.returncode == 0, proc.stderr
    create, describe = dry(repo, "create", *args)
    assert calls() == [create, describe, describe, describe]
    assert "PROVISIONING" in proc.stderr and "ACTIVE" in proc.stderr
    assert f"+ {create}" in proc.stderr


def test_queued_resource_failure_exits_1(repo, fake):
    env, _, _ = fake
    Path(env["FAKE_QR_STATES"]).write_text("PROVISIONING FAILED")
    proc = sh(repo, "create", *CREATE_FLAGS, "--queued", "--poll_s=0", **env)
    assert proc.returncode == 1 and "tpu-a is FAILED" in proc.stderr


def test_delete_asks_unless_yes(repo, fake):
    env, calls, _ = fake
    proc = sh(repo, "delete", *FLAGS, **env)  # stdin is not a terminal
    assert proc.returncode == 2 and "pass --yes" in proc.stderr
    assert calls() == []
    proc = sh(repo, "delete", *FLAGS, "--yes", **env)
    assert proc.returncode == 0, proc.stderr
    assert calls() == dry(repo, "delete", *FLAGS)


def _wait_for(predicate, timeout: float = 300.0) -> None:  # a hang guard, not a speed check
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie is dead, only not yet reaped


@pytest.mark.skipif(shutil.which("setsid") is None or not Path("/proc").is_dir(),
                    reason="needs util-linux setsid and /proc")
def test_run_tail_stop_cycle_on_a_fake_worker(repo, fake):
    env, calls, worker = fake
    logs = worker / "flanjax" / "logs"
    command = ["sh", "-c", "echo worker up: $0; exec sleep 60", "hello world"]
    proc = sh(repo, "run", *FLAGS, "--run_id=r1", "--", *command, **env)
    assert proc.returncode == 0, proc.stderr
    assert "started r1" in proc.stdout
    assert calls() == dry(repo, "run", *FLAGS, "--run_id=r1", "--", *command)
    _wait_for(lambda: (logs / "r1.log").exists()
              and "worker up: hello world" in (logs / "r1.log").read_text())
    pid = int((logs / "r1.pid").read_text())
    assert _alive(pid) and (logs / "LATEST").read_text() == "r1\n"

    proc = sh(repo, "tail", *FLAGS, "--no_follow", **env)
    assert proc.returncode == 0 and proc.stdout == "worker up: hello world\n"

    # A second launch while r1 lives is refused by the worker.
    proc = sh(repo, "run", *FLAGS, "--run_id=r2", "--", "true", **env)
    assert proc.returncode == 1 and "run r1 is still running" in proc.stderr
    assert not (logs / "r2.pid").exists()

    proc = sh(repo, "stop", *FLAGS, "--grace_s=1", **env)
    assert proc.returncode == 0, proc.stderr
    assert "stopped r1" in proc.stdout
    _wait_for(lambda: not _alive(pid))
    proc = sh(repo, "stop", *FLAGS, **env)
    assert proc.returncode == 0 and "run r1 is not running" in proc.stdout

    # Once stopped, the next run starts; a one-word command line runs under bash -c.
    proc = sh(repo, "run", *FLAGS, "--run_id=r2", "--", 'X="a b"; echo "x=$X"; exec sleep 60',
              **env)
    assert proc.returncode == 0, proc.stderr
    _wait_for(lambda: (logs / "r2.log").exists() and (logs / "r2.log").read_text() == "x=a b\n")
    pid = int((logs / "r2.pid").read_text())
    proc = sh(repo, "stop", *FLAGS, "--run_id=r2", "--grace_s=1", **env)
    assert "stopped r2" in proc.stdout
    _wait_for(lambda: not _alive(pid))


# ------------------------------------------------------------------------------ shellcheck


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck is not on PATH (apt-get install shellcheck)")
def test_shellcheck_clean():
    scripts = sorted(str(p) for p in SCRIPTS_DIR.glob("*.sh"))
    assert len(scripts) == 7
    proc = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_script_is_strict_and_executable():
    for name in SCRIPTS:
        path = SCRIPTS_DIR / f"{name}.sh"
        text = path.read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        assert "\nset -euo pipefail\n" in text
        assert os.access(path, os.X_OK), f"{path} is not executable"
    env_example = (SCRIPTS_DIR / "tpu.env.example").read_text()
    for var in ("PROJECT", "ZONE", "TPU_NAME", "ACCELERATOR_TYPE", "RUNTIME_VERSION",
                "MODEL_DIR", "SPOT", "PREEMPTIBLE", "QUEUED", "REPO_DIR"):
        assert f"{var}=" in env_example


def test_env_example_is_a_valid_env_file(repo):
    example = repo / "tpu_scripts" / "tpu.env.example"
    assert dry(repo, "create", "--env", str(example)) == [
        "gcloud compute tpus tpu-vm create flan-t5-xl-v4-32 --project=my-gcp-project"
        " --zone=us-central2-b --accelerator-type=v4-32 --version=tpu-ubuntu2204-base",
    ]
