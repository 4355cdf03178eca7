#!/usr/bin/env bash
# Validates docker-compose.yml (there is no Docker engine here to run it). `docker-compose config`
# parses the file, checks it against the Compose schema and resolves variables, so a broken file fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[herald] installing docker-compose from Debian's packages to validate docker-compose.yml…"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  else
    echo "docker-compose is needed to validate docker-compose.yml: install it (e.g. 'sudo apt-get install docker-compose' or 'pip install docker-compose')." >&2
    exit 1
  fi
fi
docker-compose -f docker-compose.yml config --quiet
echo "docker-compose.yml is valid"
