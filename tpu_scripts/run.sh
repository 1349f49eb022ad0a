#!/usr/bin/env bash
# Launch one command on every worker of the slice at once, detached, logged per worker.
set -euo pipefail

SCRIPT_VALUE_FLAGS="run_id"
SCRIPT_BOOL_FLAGS=""
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'EOF'
Usage: tpu_scripts/run.sh [options] -- COMMAND [ARGS...]

Starts COMMAND on every worker at once (gcloud compute tpus tpu-vm ssh --worker=all), the
way a multi-host JAX program must run: each worker runs the same program and
jax.distributed.initialize() finds the others. On each worker COMMAND runs in REPO_DIR with
REPO_DIR/.venv/bin first on PATH, under setsid + nohup, so closing ssh or your laptop does
not stop it; its output goes to REPO_DIR/logs/RUN_ID.log and its process id to
REPO_DIR/logs/RUN_ID.pid, and logs/LATEST names the newest run (for tail.sh and stop.sh).
A worker refuses to start while its LATEST run is still alive (stop.sh first).

  tpu_scripts/run.sh -- python -m flanjax.train \
    --gin_file=gin_configs/runs/finetune.gin --gin.TRAIN_STEPS=1000

COMMAND is passed word by word (each word shell-quoted for the workers). Environment
variables for the workers go in front: -- env TFDS_DATA_DIR=gs://b/tfds python -m ...
A single word with spaces is a shell command line instead, run by bash -c on each worker
as it is (-- 'for c in a b; do python -m ... "$c"; done').
If MODEL_DIR is set and a word-by-word COMMAND runs `-m flanjax.*` without a MODEL_DIR
binding, --gin.MODEL_DIR="MODEL_DIR" is appended (never to a shell command line).

Resuming after a preemption is the same command again (on the recreated slice, after
setup.sh): the trainer restores the latest checkpoint in MODEL_DIR.

Required: PROJECT ZONE TPU_NAME, and a COMMAND.

Options of this script:
  --run_id ID              name of the run's log files (default: UTC time, 20250101-120000)
EOF
  common_help
}

parse_args "$@"
require PROJECT ZONE TPU_NAME
((${#PASSTHROUGH[@]})) || die "no command given: put it after --, e.g. run.sh -- python -m flanjax.train --gin_file=..."
RUN_ID=${RUN_ID:-$(date -u +%Y%m%d-%H%M%S)}
check_run_id "$RUN_ID"
location_flags
repo_q=$(shquote "$(remote_repo_dir)")

if ((${#PASSTHROUGH[@]} == 1)) && [[ ${PASSTHROUGH[0]} =~ [[:space:]] ]]; then
  # A shell command line (loops, VAR=value prefixes): its own bash runs it, as it is.
  command_line="bash -c $(shquote "${PASSTHROUGH[0]}")"
else
  command_line=$(quote_cmd "${PASSTHROUGH[@]}")
  if [[ -n ${MODEL_DIR:-} && $command_line == *"-m flanjax."* && $command_line != *MODEL_DIR* ]]; then
    command_line+=" $(shquote "--gin.MODEL_DIR=\"$MODEL_DIR\"")"
  fi
fi

log=logs/$RUN_ID.log
pid=logs/$RUN_ID.pid
# One line of shell for each worker. `cmd &` alone is backgrounded (not a whole && chain), so
# $! is the pid of COMMAND itself, which setsid makes the leader of its own process group:
# stop.sh signals that group. nohup + </dev/null + redirected output let ssh disconnect.
# The log is appended to: the same run id again (a resume) keeps the earlier output.
# `ps -o stat= -p PID | grep -qv Z` is "alive": a zombie (exited, not yet reaped) is not.
launch=(
  "set -e"
  "cd $repo_q"
  "mkdir -p logs"
  "if [ -f logs/LATEST ] && ps -o stat= -p \"\$(cat \"logs/\$(cat logs/LATEST).pid\" 2>/dev/null)\" 2>/dev/null | grep -qv Z; then echo \"\$(hostname): run \$(cat logs/LATEST) is still running; stop it with tpu_scripts/stop.sh\" >&2; exit 1; fi"
  "echo $RUN_ID > logs/LATEST"
  "PATH=\"\$PWD/.venv/bin:\$PATH\" setsid nohup $command_line >> $log 2>&1 < /dev/null &"
  "echo \$! > $pid"
  "echo \"\$(hostname): started $RUN_ID, pid \$(cat $pid), log \$PWD/$log\""
)
joined=''
for part in "${launch[@]}"; do
  # `cmd &; next` is a syntax error: after `&` the next command follows a plain space.
  if [[ -z $joined || $joined == *'&' ]]; then joined+="${joined:+ }$part"; else joined+="; $part"; fi
done

note "run $RUN_ID on all workers of $TPU_NAME: $command_line"
run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION_FLAGS[@]}" --worker=all \
  "--command=$joined"
if [[ $DRY_RUN != true ]]; then
  note "started; follow it with: tpu_scripts/tail.sh --run_id=$RUN_ID (add --worker=all for every worker)"
fi
