#!/usr/bin/env bash
# Delete the TPU VM slice (or its queued resource, which deletes the slice too).
set -euo pipefail

SCRIPT_VALUE_FLAGS=""
SCRIPT_BOOL_FLAGS="yes"
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'EOF'
Usage: tpu_scripts/delete.sh [options]

Deletes TPU_NAME:
  gcloud compute tpus tpu-vm delete NAME --project --zone --quiet
or, with QUEUED=true, its queued resource and the slice with it:
  gcloud compute tpus queued-resources delete QUEUED_RESOURCE_ID --project --zone --force --quiet
Asks for confirmation first unless --yes; without a terminal to ask on it refuses (exit 2).
Everything on the workers' disks goes (logs included: tail.sh --fetch first); MODEL_DIR on
GCS stays.

Required: PROJECT ZONE TPU_NAME.

Options of this script:
  --yes                    do not ask
EOF
  common_help
}

parse_args "$@"
require PROJECT ZONE TPU_NAME
location_flags
if [[ $QUEUED == true ]]; then
  what="queued resource $QUEUED_RESOURCE_ID (and its TPU $TPU_NAME)"
  cmd=(gcloud compute tpus queued-resources delete "$QUEUED_RESOURCE_ID" "${LOCATION_FLAGS[@]}"
    --force --quiet)
else
  what="TPU VM $TPU_NAME"
  cmd=(gcloud compute tpus tpu-vm delete "$TPU_NAME" "${LOCATION_FLAGS[@]}" --quiet)
fi

if [[ $DRY_RUN != true && $YES != true ]]; then
  [[ -t 0 ]] || die "refusing to delete $what without a terminal to confirm on; pass --yes"
  read -r -p "Delete $what in $PROJECT/$ZONE? Type the name $TPU_NAME to confirm: " answer
  [[ $answer == "$TPU_NAME" ]] || fail "not confirmed; nothing deleted"
fi
run "${cmd[@]}"
