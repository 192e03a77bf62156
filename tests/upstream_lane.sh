#!/usr/bin/env bash
# The upstream lane: each fix in recipe/upstream/ against a scratch copy of the installed verl (0.9.1). For each
# patch, its tests are added to the copy and must fail there, then its fix is applied and they must pass. Where a
# patch for verl's main does not apply to the installed version, recipe/upstream/v<version>/ holds the variant used.
# Tests that need vLLM skip without it, as upstream's do. Nothing in the installed environment changes. .ci/run
# calls it after the trainer lane. About 1-2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
python=${PYTHON:-python}
site=$("$python" -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("verl").origin).parents[1])')
version=$("$python" -c 'import importlib.metadata; print(importlib.metadata.version("verl"))')
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The copy's own tests only: no plugin of an installed project, no configuration of this repository's pytest.
export VERL_USE_EXTERNAL_PLUGINS=none PYTHONDONTWRITEBYTECODE=1

run_tests() {  # run_tests DIR TEST...: pytest's exit status; its summary line in $summary, its output in $out
  local dir=$1
  shift
  set +e
  out=$(cd "$dir" && PYTHONPATH="$dir" "$python" -m pytest -q -p no:cacheprovider --rootdir "$dir" "$@" 2>&1)
  local rc=$?
  set -e
  summary=$(printf '%s\n' "$out" | tail -n 1)
  return "$rc"
}

failed=0
for patch in recipe/upstream/0*.patch; do
  name=$(basename "$patch")
  if [[ -f "recipe/upstream/v$version/$name" ]]; then patch="recipe/upstream/v$version/$name"; fi
  work="$scratch/${name%.patch}"
  mkdir -p "$work"
  cp -r "$site/verl" "$work/verl"
  mapfile -t tests < <(git apply --numstat "$repo/$patch" | awk '$3 ~ /^tests\// {print $3}')
  (cd "$work" && git apply --include='tests/*' "$repo/$patch")
  if run_tests "$work" "${tests[@]}"; then
    echo "upstream lane: $patch: its tests pass on verl $version without the fix ($summary)"
    failed=1
    continue
  elif [[ $? -ne 1 ]]; then
    printf '%s\n' "$out" | tail -n 30
    echo "upstream lane: $patch: its tests could not run on verl $version ($summary)"
    failed=1
    continue
  fi
  before=$summary
  (cd "$work" && git apply --exclude='tests/*' "$repo/$patch")
  if run_tests "$work" "${tests[@]}"; then
    echo "upstream lane: $patch: on verl $version $before without the fix; $summary with it"
  else
    printf '%s\n' "$out" | tail -n 30
    echo "upstream lane: $patch: its tests fail with the fix applied ($summary)"
    failed=1
  fi
done
exit "$failed"
