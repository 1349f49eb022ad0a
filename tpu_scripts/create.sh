#!/usr/bin/env bash
# Create a Cloud TPU VM slice, directly or through a queued resource. See docs/tpu.md.
set -euo pipefail

SCRIPT_VALUE_FLAGS="poll_s"
SCRIPT_BOOL_FLAGS="no_wait"
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'EOF'
Usage: tpu_scripts/create.sh [options] [-- EXTRA_GCLOUD_FLAGS...]

Creates the TPU VM slice TPU_NAME:
  gcloud compute tpus tpu-vm create NAME --project --zone --accelerator-type --version [--spot|--preemptible]
or, with QUEUED=true (--queued), a queued resource that provisions it when capacity frees up:
  gcloud compute tpus queued-resources create QUEUED_RESOURCE_ID --node-id NAME ... --runtime-version [--spot]
and then polls the queued resource until it is ACTIVE (Ctrl-C stops the polling, not the
request; delete.sh removes it). Flags after -- go to gcloud as they are
(e.g. -- --network=my-net --labels=owner=me --reserved).

Required: PROJECT ZONE TPU_NAME ACCELERATOR_TYPE RUNTIME_VERSION.

Options of this script:
  --no_wait                queued: do not poll the state after the request
  --poll_s N               queued: seconds between polls (default 30)
EOF
  common_help
}

parse_args "$@"
require PROJECT ZONE TPU_NAME ACCELERATOR_TYPE RUNTIME_VERSION
POLL_S=${POLL_S:-30}
[[ $POLL_S =~ ^[0-9]+$ ]] || die "--poll_s must be a whole number of seconds, got $POLL_S"
location_flags

if [[ $QUEUED != true ]]; then
  capacity=()
  [[ $SPOT == true ]] && capacity=(--spot)
  [[ $PREEMPTIBLE == true ]] && capacity=(--preemptible)
  run gcloud compute tpus tpu-vm create "$TPU_NAME" "${LOCATION_FLAGS[@]}" \
    "--accelerator-type=$ACCELERATOR_TYPE" "--version=$RUNTIME_VERSION" \
    ${capacity[@]+"${capacity[@]}"} ${PASSTHROUGH[@]+"${PASSTHROUGH[@]}"}
  exit 0
fi

capacity=()
[[ $SPOT == true ]] && capacity=(--spot)
run gcloud compute tpus queued-resources create "$QUEUED_RESOURCE_ID" "${LOCATION_FLAGS[@]}" \
  "--node-id=$TPU_NAME" "--accelerator-type=$ACCELERATOR_TYPE" \
  "--runtime-version=$RUNTIME_VERSION" \
  ${capacity[@]+"${capacity[@]}"} ${PASSTHROUGH[@]+"${PASSTHROUGH[@]}"}

[[ $NO_WAIT == true ]] && exit 0
describe=(gcloud compute tpus queued-resources describe "$QUEUED_RESOURCE_ID"
  "${LOCATION_FLAGS[@]}" "--format=value(state.state)")
if [[ $DRY_RUN == true ]]; then
  # The wait loop runs this every POLL_S seconds until the state is ACTIVE.
  run "${describe[@]}"
  exit 0
fi

note "waiting for $QUEUED_RESOURCE_ID to become ACTIVE (polling every ${POLL_S}s;" \
  "Ctrl-C stops waiting, the request stays queued): $(quote_cmd "${describe[@]}")"
last=''
while true; do
  state=$("${describe[@]}") || fail "could not read the state of $QUEUED_RESOURCE_ID"
  if [[ $state != "$last" ]]; then
    note "$(date -u +%H:%M:%S) $QUEUED_RESOURCE_ID: $state"
    last=$state
  fi
  case $state in
  ACTIVE) exit 0 ;;
  FAILED | SUSPENDING | SUSPENDED | DELETING)
    fail "$QUEUED_RESOURCE_ID is $state; see: gcloud compute tpus queued-resources describe" \
      "$QUEUED_RESOURCE_ID --project=$PROJECT --zone=$ZONE"
    ;;
  esac
  sleep "$POLL_S"
done
