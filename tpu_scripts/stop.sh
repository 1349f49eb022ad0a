#!/usr/bin/env bash
# Stop a run started by run.sh, on every worker.
set -euo pipefail

SCRIPT_VALUE_FLAGS="run_id grace_s"
SCRIPT_BOOL_FLAGS=""
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'EOF'
Usage: tpu_scripts/stop.sh [options]

On every worker (--worker=all): sends SIGTERM to the process group of the run (the pid in
REPO_DIR/logs/RUN_ID.pid leads it), waits up to GRACE_S seconds, then SIGKILLs what is left
and removes a stale /tmp/libtpu_lockfile so the next run can open the TPU. RUN_ID defaults to
each worker's newest run (logs/LATEST). Checkpoints already in MODEL_DIR stay; run.sh with the
same command resumes from the latest one.

Required: PROJECT ZONE TPU_NAME.

Options of this script:
  --run_id ID              which run (default: the newest on each worker)
  --grace_s N              seconds between SIGTERM and SIGKILL (default 30)
EOF
  common_help
}

parse_args "$@"
require PROJECT ZONE TPU_NAME
GRACE_S=${GRACE_S:-30}
[[ $GRACE_S =~ ^[0-9]+$ ]] || die "--grace_s must be a whole number of seconds, got $GRACE_S"
location_flags
repo_q=$(shquote "$(remote_repo_dir)")
if [[ -n ${RUN_ID:-} ]]; then
  check_run_id "$RUN_ID"
  pick="id=$RUN_ID"
else
  pick="id=\$(cat logs/LATEST 2>/dev/null || true)"
fi

stop=(
  "set -e"
  "cd $repo_q"
  "$pick"
  "pid=\$(cat \"logs/\$id.pid\" 2>/dev/null || true)"
  "if ! ps -o stat= -p \"\${pid:-0}\" 2>/dev/null | grep -qv Z; then echo \"\$(hostname): run \${id:-?} is not running\"; exit 0; fi"
  "kill -TERM -- \"-\$pid\" 2>/dev/null || true"
  "i=0"
  "while ps -o stat= -p \"\$pid\" | grep -qv Z && [ \"\$i\" -lt $GRACE_S ]; do sleep 1; i=\$((i + 1)); done"
  "kill -KILL -- \"-\$pid\" 2>/dev/null || true"
  "rm -f /tmp/libtpu_lockfile"
  "echo \"\$(hostname): stopped \$id\""
)
joined=''
for part in "${stop[@]}"; do joined+="${joined:+; }$part"; done
run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION_FLAGS[@]}" --worker=all \
  "--command=$joined"
