#!/usr/bin/env bash
# Validates docker-compose.yml (there is no Docker engine here to run it). `docker-compose config`
# parses the file, checks it against the Compose schema and resolves variables, so a broken file fails;
# then the Temporal services are checked against deploy/temporal/ (version, schema script, config).
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

# Temporal in the compose stack is the one `npm run temporal:fleet` and `npm run test:fleet` run here
# (scripts/temporal-server/): the same version, schema steps and config file. Nothing here can run the
# images, so check that the file still says so.
problems=()
version="$(tr -d '[:space:]' <deploy/temporal/server-version)"
for image in server admin-tools; do
  tags="$(grep -oE "temporalio/$image:[^[:space:]]+" docker-compose.yml | sort -u)"
  [ "$tags" = "temporalio/$image:$version" ] ||
    problems+=("temporalio/$image must be tagged $version (deploy/temporal/server-version), found: ${tags:-none}")
done
mounts="$(grep -c -- '- ./deploy/temporal:/etc/herald/temporal:ro' docker-compose.yml || true)"
[ "$mounts" = 2 ] || problems+=("temporal and temporal-admin-tools must both mount ./deploy/temporal at /etc/herald/temporal (found $mounts mounts)")
grep -q "entrypoint: \['/bin/sh', '/etc/herald/temporal/setup-schema.sh'\]" docker-compose.yml ||
  problems+=("temporal-admin-tools must run deploy/temporal/setup-schema.sh")
for setting in \
  'TEMPORAL_SERVER_CONFIG_FILE_PATH: /etc/herald/temporal/temporal-server.yaml' \
  'DYNAMIC_CONFIG_FILE_PATH: /etc/herald/temporal/dynamic-config.yaml'; do
  grep -qF "$setting" docker-compose.yml || problems+=("the temporal service must set $setting")
done
if [ "${#problems[@]}" -gt 0 ]; then
  printf 'docker-compose.yml: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "docker-compose.yml is valid and runs Temporal $version with deploy/temporal/"
