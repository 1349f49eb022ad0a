# shellcheck shell=bash
# shellcheck disable=SC2034  # REPO_ROOT, PASSTHROUGH, LOCATION_FLAGS: used by the scripts that source this
# Shared helpers for tpu_scripts/*.sh. Sourced by each script, never run on its own.
#
# Settings come from flags and from one env file, nothing else: variables that happen to be
# exported in your shell (a stray ZONE or PROJECT) are ignored, so a printed command depends
# only on what you passed. Flags win over the env file.
#
# Written for bash 3.2 as well (macOS's /bin/bash): no associative arrays, no ${v,,}, no
# mapfile, and empty arrays are expanded as ${a[@]+"${a[@]}"} because of `set -u`.

TPU_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TPU_SCRIPTS_DIR/.." && pwd)
SCRIPT_NAME=$(basename "$0")

# Settings an env file may hold; each also has a flag, its name in lower case (--tpu_name).
SETTINGS="PROJECT ZONE TPU_NAME ACCELERATOR_TYPE RUNTIME_VERSION MODEL_DIR SPOT PREEMPTIBLE"
SETTINGS+=" QUEUED QUEUED_RESOURCE_ID REPO_DIR PYTHON_VERSION"
BOOL_SETTINGS="SPOT PREEMPTIBLE QUEUED"
# Each script sets SCRIPT_VALUE_FLAGS / SCRIPT_BOOL_FLAGS (flag names; the variable is the
# upper-cased name) before calling parse_args.
SCRIPT_VALUE_FLAGS=${SCRIPT_VALUE_FLAGS:-}
SCRIPT_BOOL_FLAGS=${SCRIPT_BOOL_FLAGS:-}


die() { # usage or configuration error: exit 2
  printf '%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 2
}

fail() { # a command or the remote side failed: exit 1
  printf '%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 1
}

note() {
  printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
}

# Case mapping without a fork per call (bash 3.2 has no ${v^^}): the result goes to REPLY.
LOWER_CASE=abcdefghijklmnopqrstuvwxyz
UPPER_CASE=ABCDEFGHIJKLMNOPQRSTUVWXYZ
map_case() { # map_case FROM TO WORD
  local i c rest out=''
  for ((i = 0; i < ${#3}; i++)); do
    c=${3:i:1}
    rest=${1%%"$c"*}
    if ((${#rest} < ${#1})); then out+=${2:${#rest}:1}; else out+=$c; fi
  done
  REPLY=$out
}
upper() { map_case "$LOWER_CASE" "$UPPER_CASE" "$1"; }
lower() { map_case "$UPPER_CASE" "$LOWER_CASE" "$1"; }

for _flag in $SCRIPT_VALUE_FLAGS $SCRIPT_BOOL_FLAGS; do
  upper "$_flag"
  unset "$REPLY"
done
# shellcheck disable=SC2086  # a word list on purpose
unset _flag ENV_FILE DRY_RUN $SETTINGS
PASSTHROUGH=()

in_list() { # in_list WORD LIST
  local w
  for w in $2; do [[ $w == "$1" ]] && return 0; done
  return 1
}

to_bool() { # to_bool VALUE WHERE: REPLY=true|false, or exit 2
  lower "$1"
  case $REPLY in
  true | 1 | yes | on) REPLY=true ;;
  false | 0 | no | off | '') REPLY=false ;;
  *)
    die "$2 must be true or false, got $1"
    ;;
  esac
}

# shquote WORD: WORD quoted exactly as Python's shlex.quote does, so printed commands can be
# pasted into a shell and compared with shlex.join in tests.
shquote() {
  local s=$1 safe='^[A-Za-z0-9_@%+=:,./-]+$' q="'\"'\"'"
  if [[ $s =~ $safe ]]; then
    printf '%s' "$s"
  else
    s=${s//\'/$q}
    printf "'%s'" "$s"
  fi
}

quote_cmd() { # quote_cmd WORD...: one shell-quoted line
  local out='' a
  for a in "$@"; do out+="${out:+ }$(shquote "$a")"; done
  printf '%s' "$out"
}

# run CMD...: print CMD (shell-quoted). With --dry_run print it on stdout and stop there;
# otherwise print it on stderr prefixed with '+ ' and run it.
run() {
  if [[ $DRY_RUN == true ]]; then
    printf '%s\n' "$(quote_cmd "$@")"
    return 0
  fi
  printf '+ %s\n' "$(quote_cmd "$@")" >&2
  "$@"
}

flag_kind() { # flag_kind NAME: REPLY=value|bool; fails for unknown flags
  upper "$1"
  if [[ $1 == env ]] || in_list "$1" "$SCRIPT_VALUE_FLAGS"; then
    REPLY=value
  elif [[ $1 == dry_run ]] || in_list "$1" "$SCRIPT_BOOL_FLAGS"; then
    REPLY=bool
  elif in_list "$REPLY" "$BOOL_SETTINGS"; then
    REPLY=bool
  elif in_list "$REPLY" "$SETTINGS"; then
    REPLY=value
  else
    return 1
  fi
}

# parse_flags MODE ARGS...: MODE=env reads only --env (and --help); MODE=apply sets every
# flag's variable. Arguments after `--` land in PASSTHROUGH.
parse_flags() {
  local mode=$1 arg name value has_value kind var
  shift
  while (($#)); do
    arg=$1
    shift
    case $arg in
    -h | --help)
      usage
      exit 0
      ;;
    --)
      PASSTHROUGH=("$@")
      return 0
      ;;
    --*) ;;
    *) die "unexpected argument '$arg' (options start with --, a command goes after --; see --help)" ;;
    esac
    name=${arg#--}
    value=''
    has_value=false
    if [[ $name == *=* ]]; then
      value=${name#*=}
      name=${name%%=*}
      has_value=true
    fi
    name=${name//-/_}
    flag_kind "$name" || die "unknown option --$name (see $SCRIPT_NAME --help)"
    kind=$REPLY
    if [[ $kind == value && $has_value == false ]]; then
      (($#)) || die "--$name needs a value"
      value=$1
      shift
    fi
    if [[ $kind == bool ]]; then
      [[ $has_value == true ]] || value=true
      to_bool "$value" "--$name"
      value=$REPLY
    fi
    upper "$name"
    var=$REPLY
    [[ $name == env ]] && var=ENV_FILE
    if [[ $mode == apply || $var == ENV_FILE ]]; then
      printf -v "$var" '%s' "$value"
    fi
  done
}

# strip_env_value RAW: the value of an env-file line: "..." or '...' (taken literally), or a
# bare word; a trailing ` # comment` is dropped. No expansion of $VARS.
strip_env_value() {
  local v=$1 dq='^"([^"]*)"[[:space:]]*(#.*)?$' sq="^'([^']*)'[[:space:]]*(#.*)?$"
  local bad="[[:space:]\"'\$\`\\\\]"
  if [[ $v =~ $dq || $v =~ $sq ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
    return 0
  fi
  v=${v%%[[:space:]]#*}
  v=${v%"${v##*[![:space:]]}"}
  [[ $v =~ $bad ]] && return 1
  printf '%s' "$v"
}

load_env_file() {
  local file line key value n=0
  local blank='^[[:space:]]*(#.*)?$' assign='^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$'
  if [[ -z ${ENV_FILE+x} ]]; then
    [[ -f $TPU_SCRIPTS_DIR/tpu.env ]] || return 0
    ENV_FILE=$TPU_SCRIPTS_DIR/tpu.env
  fi
  [[ -n $ENV_FILE ]] || return 0 # --env= : no env file at all
  file=$ENV_FILE
  [[ -f $file ]] || die "env file $file does not exist (copy tpu_scripts/tpu.env.example)"
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ $line =~ $blank ]] && continue
    [[ $line =~ $assign ]] || die "$file:$n: expected KEY=VALUE, got: $line"
    key=${BASH_REMATCH[2]}
    value=${BASH_REMATCH[3]}
    in_list "$key" "$SETTINGS" || die "$file:$n: unknown setting $key (known: $SETTINGS)"
    value=$(strip_env_value "$value") ||
      die "$file:$n: quote the value of $key (\"...\"); spaces, quotes and \$ need quotes"
    if in_list "$key" "$BOOL_SETTINGS"; then
      to_bool "$value" "$file:$n: $key"
      value=$REPLY
    fi
    printf -v "$key" '%s' "$value"
  done <"$file"
}

# parse_args "$@": env file first, then flags on top, then defaults and consistency checks.
parse_args() {
  parse_flags env "$@"
  load_env_file
  parse_flags apply "$@"
  local f var
  for f in dry_run $SCRIPT_BOOL_FLAGS; do
    upper "$f"
    var=$REPLY
    printf -v "$var" '%s' "${!var:-false}"
  done
  SPOT=${SPOT:-false}
  PREEMPTIBLE=${PREEMPTIBLE:-false}
  QUEUED=${QUEUED:-false}
  REPO_DIR=${REPO_DIR:-flanjax}
  PYTHON_VERSION=${PYTHON_VERSION:-3.11}
  QUEUED_RESOURCE_ID=${QUEUED_RESOURCE_ID:-${TPU_NAME:-}}
  if [[ $SPOT == true && $PREEMPTIBLE == true ]]; then
    die "SPOT and PREEMPTIBLE are both set; choose one (spot is the newer, preferred kind)"
  fi
  if [[ $QUEUED == true && $PREEMPTIBLE == true ]]; then
    die "queued resources have no PREEMPTIBLE; use SPOT=true (--spot) with QUEUED"
  fi
  if [[ -n ${MODEL_DIR:-} && $MODEL_DIR != gs://* ]]; then
    note "warning: MODEL_DIR=$MODEL_DIR is not a gs:// path; every worker must see the same MODEL_DIR"
  fi
}

# require VAR...: exit 2 naming each missing setting and how to set it.
require() {
  local var where missing=0
  if [[ -n ${ENV_FILE:-} ]]; then
    where=$ENV_FILE
  else
    where="an env file (--env FILE, default tpu_scripts/tpu.env; see tpu_scripts/tpu.env.example)"
  fi
  for var in "$@"; do
    if [[ -z ${!var:-} ]]; then
      printf '%s: error: %s is not set: pass --%s=... or put %s=... in %s\n' \
        "$SCRIPT_NAME" "$var" "$(lower "$var" && printf '%s' "$REPLY")" "$var" "$where" >&2
      missing=1
    fi
  done
  [[ $missing == 0 ]] || exit 2
}

# The location flags every gcloud tpu command takes.
location_flags() {
  LOCATION_FLAGS=("--project=$PROJECT" "--zone=$ZONE")
}

# remote_repo_dir: REPO_DIR as the workers' shell should see it: relative paths are relative
# to the home directory (where ssh commands start), so ~/x becomes x.
remote_repo_dir() {
  local d=${REPO_DIR#\~/}
  case $d in
  '' | / | . | ./ | \~ | *..*) die "REPO_DIR=$REPO_DIR is not a safe directory for the code on the workers" ;;
  esac
  printf '%s' "$d"
}

check_run_id() { # run ids end up in file names on the workers
  local ok='^[A-Za-z0-9][A-Za-z0-9._-]*$'
  [[ $1 =~ $ok ]] || die "run id '$1' may hold only letters, digits, '.', '_' and '-'"
}

common_help() {
  cat <<'EOF'
Settings (flag, or KEY=VALUE in the env file; flags win; exported shell variables are ignored):
  --env FILE               env file (default tpu_scripts/tpu.env if present; --env= for none)
  --project ID             PROJECT             Google Cloud project
  --zone ZONE              ZONE                e.g. us-central2-b
  --tpu_name NAME          TPU_NAME            the TPU VM (node) name
  --accelerator_type T     ACCELERATOR_TYPE    e.g. v4-32, v5p-64, v5litepod-16, v6e-16
  --runtime_version V      RUNTIME_VERSION     e.g. tpu-ubuntu2204-base, v2-alpha-tpuv5
  --model_dir gs://...     MODEL_DIR           checkpoints and metrics of the run
  --spot / --preemptible   SPOT / PREEMPTIBLE  cheaper capacity that can be taken back
  --queued                 QUEUED              create through a queued resource
  --queued_resource_id ID  QUEUED_RESOURCE_ID  default: TPU_NAME
  --repo_dir DIR           REPO_DIR            code on the workers (default flanjax, i.e. ~/flanjax)
  --python_version V       PYTHON_VERSION      Python of the workers' venv (default 3.11)
  Booleans take --flag, --flag=true or --flag=false.
Common options:
  --dry_run                print the exact commands (one per line, shell-quoted), run nothing
  -h, --help               this help
Exit status: 0 ok, 1 a command failed, 2 bad usage or a missing setting.
EOF
}
