#!/usr/bin/env bash
# Makes (once) a Python virtual environment holding exactly the given packages, and prints the
# path of its interpreter. Used by the interop tests and by .ci/run; safe to run concurrently.
#
#   scripts/pyenv.sh DIR PACKAGE==VERSION [PACKAGE==VERSION ...]
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: $0 DIR PACKAGE==VERSION..." >&2
  exit 2
fi
dir=$1
shift
python=${PYTHON:-python3}
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9

stamp="$dir/.subforge-requirements"
wanted=$(printf '%s\n' "$@")
if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  echo "$dir/bin/python"
  exit 0
fi

rm -rf "$dir"
"$python" -m venv "$dir" >&2
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
printf '%s' "$wanted" >"$stamp"
echo "$dir/bin/python"
