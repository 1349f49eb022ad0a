#!/usr/bin/env bash
# Show, follow or fetch the per-worker logs of a run started by run.sh.
set -euo pipefail

SCRIPT_VALUE_FLAGS="run_id worker num_lines fetch num_workers"
SCRIPT_BOOL_FLAGS="no_follow"
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'EOF'
Usage: tpu_scripts/tail.sh [options]

Follows REPO_DIR/logs/RUN_ID.log on one worker (default worker 0, which is where JAX's
process 0 logs metrics), or on every worker with --worker=all (each line prefixed with
the worker's hostname). RUN_ID defaults to the worker's newest run (logs/LATEST).
Ctrl-C stops following; the run goes on.

With --fetch DIR it instead copies each worker's whole logs/ folder into DIR/worker-N/
(gcloud compute tpus tpu-vm scp --recurse, one worker at a time). The number of workers
comes from --num_workers or ACCELERATOR_TYPE (v4-32: 4 workers).

Required: PROJECT ZONE TPU_NAME (and for --fetch: --num_workers or ACCELERATOR_TYPE).

Options of this script:
  --run_id ID              which run (default: the newest on each worker)
  --worker N|all           which worker (default 0)
  --num_lines N            lines of history to show first (default 100)
  --no_follow              print the last lines and exit
  --fetch DIR              copy the logs of every worker to DIR/worker-N/
  --num_workers N          workers of the slice, for --fetch
EOF
  common_help
}

# workers_for ACCELERATOR_TYPE: hosts of a slice. v2/v3/v4/v5p name TensorCores (8 a host);
# v5e/v6e name chips (one host up to 8 chips, 4 chips a host above that).
workers_for() {
  local gen=${1%-*} n=${1##*-}
  [[ $n =~ ^[0-9]+$ ]] || return 1
  case $gen in
  v2 | v3 | v4 | v5p) printf '%s' $((n <= 8 ? 1 : n / 8)) ;;
  v5litepod | v5e | v6e) printf '%s' $((n <= 8 ? 1 : n / 4)) ;;
  *) return 1 ;;
  esac
}

parse_args "$@"
require PROJECT ZONE TPU_NAME
WORKER=${WORKER:-0}
NUM_LINES=${NUM_LINES:-100}
[[ $WORKER == all || $WORKER =~ ^[0-9]+$ ]] || die "--worker must be a number or all, got $WORKER"
[[ $NUM_LINES =~ ^[0-9]+$ ]] || die "--num_lines must be a number, got $NUM_LINES"
location_flags
repo=$(remote_repo_dir)

if [[ -n ${FETCH:-} ]]; then
  if [[ -z ${NUM_WORKERS:-} ]]; then
    require ACCELERATOR_TYPE
    NUM_WORKERS=$(workers_for "$ACCELERATOR_TYPE") ||
      die "cannot tell the number of workers of $ACCELERATOR_TYPE; pass --num_workers=N"
  fi
  [[ $NUM_WORKERS =~ ^[1-9][0-9]*$ ]] || die "--num_workers must be a positive number, got $NUM_WORKERS"
  for ((w = 0; w < NUM_WORKERS; w++)); do
    run mkdir -p "$FETCH/worker-$w"
    run gcloud compute tpus tpu-vm scp --recurse "$TPU_NAME:$repo/logs" "$FETCH/worker-$w" \
      "${LOCATION_FLAGS[@]}" "--worker=$w"
  done
  exit 0
fi

if [[ -n ${RUN_ID:-} ]]; then
  check_run_id "$RUN_ID"
  pick="id=$RUN_ID"
else
  pick="id=\$(cat logs/LATEST)"
fi
follow=-F
[[ $NO_FOLLOW == true ]] && follow=''
show="tail -n $NUM_LINES${follow:+ $follow} \"logs/\$id.log\""
[[ $WORKER == all ]] && show+=" | sed -u \"s/^/\$(hostname): /\""
run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION_FLAGS[@]}" "--worker=$WORKER" \
  "--command=set -e; cd $(shquote "$repo"); $pick; $show"
