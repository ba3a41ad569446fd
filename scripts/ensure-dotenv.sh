#!/usr/bin/env bash
# Create .env with fresh random secrets on first use; never overwrite an existing value.
set -euo pipefail
file="${1:-.env}"
touch "$file"
for name in CASESTORE_API_TOKEN RASA_TOKEN ACTION_SERVER_TOKEN; do
  if ! grep -q "^${name}=" "$file"; then
    echo "${name}=$(head -c 24 /dev/urandom | base64 | tr -d '/+=' )" >> "$file"
    echo "wrote a new random ${name} into ${file}"
  fi
done
