#!/usr/bin/env bash
# Ship the code to every worker of the slice and install flanjax[tpu] there. See docs/tpu.md.
set -euo pipefail

SCRIPT_VALUE_FLAGS="git_ref"
SCRIPT_BOOL_FLAGS="check"
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<'EOF'
Usage: tpu_scripts/setup.sh [options]

On the machine you run it from:
  git archive of GIT_REF (default HEAD) of this checkout -> $TMPDIR/flanjax-TPU_NAME.tar.gz
  (committed code only: the archive is exactly a commit, so a run can be traced to it;
  setup.sh warns when the working tree has uncommitted changes)
Then, on every worker at once (--worker=all):
  gcloud compute tpus tpu-vm scp TARBALL NAME:flanjax-src.tar.gz --worker=all
  gcloud compute tpus tpu-vm ssh NAME --worker=all --command '...' which
    replaces the code in REPO_DIR (keeping REPO_DIR/.venv and REPO_DIR/logs),
    installs uv if missing, makes REPO_DIR/.venv with Python PYTHON_VERSION (jax needs
    >= 3.11; the TPU images ship 3.10) and runs uv pip install -e '.[tpu]' (jax[tpu] + libtpu).
Run it again after every change you want on the workers; it is idempotent.

Required: PROJECT ZONE TPU_NAME.

Options of this script:
  --git_ref REF            commit, branch or tag to ship (default HEAD)
  --check                  afterwards print jax.process_index() and jax.device_count() on
                           every worker (all workers must answer; a v4-32 shows 16 devices)
EOF
  common_help
}

parse_args "$@"
require PROJECT ZONE TPU_NAME
GIT_REF=${GIT_REF:-HEAD}
location_flags
repo=$(remote_repo_dir)
repo_q=$(shquote "$repo")
tarball=${TMPDIR:-/tmp}/flanjax-$TPU_NAME.tar.gz
remote_tarball=flanjax-src.tar.gz

if [[ $DRY_RUN != true && $GIT_REF == HEAD ]] &&
  [[ -n $(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  note "warning: uncommitted changes in $REPO_ROOT are not shipped (only $GIT_REF is); commit them first"
fi

run git -C "$REPO_ROOT" archive --format=tar.gz "--output=$tarball" "$GIT_REF"
run gcloud compute tpus tpu-vm scp "$tarball" "$TPU_NAME:$remote_tarball" \
  "${LOCATION_FLAGS[@]}" --worker=all

# One line of shell run by each worker's login shell (bash on the TPU images), from $HOME.
# `find ... -exec rm` clears the old code but keeps the venv and the run logs.
install=(
  "set -e"
  "mkdir -p $repo_q"
  "find $repo_q -mindepth 1 -maxdepth 1 ! -name .venv ! -name logs -exec rm -rf {} +"
  "tar -xzf $remote_tarball -C $repo_q"
  "rm -f $remote_tarball"
  "cd $repo_q"
  "mkdir -p logs"
  "export PATH=\"\$HOME/.local/bin:\$PATH\""
  "if ! command -v uv >/dev/null; then python3 -m pip install --user --quiet uv || curl -LsSf https://astral.sh/uv/install.sh | sh; fi"
  "uv venv --quiet --allow-existing --python $(shquote "$PYTHON_VERSION") .venv"
  "uv pip install --quiet --python .venv/bin/python -e '.[tpu]'"
  "echo \"\$(hostname): flanjax installed in \$PWD\""
)
joined=''
for part in "${install[@]}"; do joined+="${joined:+; }$part"; done
run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION_FLAGS[@]}" --worker=all \
  "--command=$joined"

# shellcheck disable=SC2153  # CHECK comes from --check, set in parse_args
if [[ $CHECK == true ]]; then
  check="cd $repo_q && .venv/bin/python -c 'import jax; print(jax.process_index(), jax.device_count())'"
  run gcloud compute tpus tpu-vm ssh "$TPU_NAME" "${LOCATION_FLAGS[@]}" --worker=all \
    "--command=$check"
fi
