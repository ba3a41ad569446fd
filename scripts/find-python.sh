#!/usr/bin/env bash
# Print the path of a Python interpreter of the given minor version (3.10 or 3.11).
# Order: the PYTHON310 / PYTHON311 setting, pythonX.Y on PATH, pyenv. Fails with advice.
set -uo pipefail
version="$1"                      # e.g. 3.10
var="PYTHON${version//./}"        # e.g. PYTHON310

works() {
  [[ -n "$1" ]] && "$1" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null
}

candidates=()
[[ -n "${!var:-}" ]] && candidates+=("${!var}")
command -v "python$version" >/dev/null 2>&1 && candidates+=("$(command -v "python$version")")
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E "^${version//./\\.}(\.[0-9]+)?$" | sort -V -r); do
    candidates+=("$(pyenv root)/versions/$v/bin/python$version")
  done
fi
for c in "${candidates[@]}"; do
  if works "$c"; then echo "$c"; exit 0; fi
  if [[ -n "${!var:-}" && "$c" == "${!var}" ]]; then
    echo "error: $var=$c is not a working Python $version" >&2; exit 1
  fi
done
purpose="app environment"
[[ "$version" == "3.10" ]] && purpose="Rasa environment (Rasa 3.6 runs on Python 3.8-3.10)"
cat >&2 <<MSG
error: Python $version was not found; it is needed for the $purpose.
  Install it with one of:
    pyenv install $version          (then run make again)
    apt-get install python$version python$version-venv
  or point $var at an interpreter:  make run $var=/path/to/python$version
MSG
exit 1
