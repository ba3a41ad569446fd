#!/usr/bin/env bash
# Create .env with fresh random secrets on first use; never overwrite an existing value (an
# empty one is filled in). The file holds secrets: readable by its owner only (0600), also
# when it already existed with a looser mode.
set -euo pipefail
file="${1:-.env}"
(umask 077 && touch "$file")
chmod 600 "$file"
for name in CASESTORE_API_TOKEN RASA_TOKEN ACTION_SERVER_TOKEN; do
  value="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
  if grep -qE "^${name}=[[:space:]]*$" "$file"; then
    sed -i "s/^${name}=[[:space:]]*\$/${name}=${value}/" "$file"
    echo "wrote a new random ${name} into ${file} (it was empty)"
  elif ! grep -q "^${name}=" "$file"; then
    echo "${name}=${value}" >> "$file"
    echo "wrote a new random ${name} into ${file}"
  fi
done
