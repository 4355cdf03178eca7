#!/usr/bin/env bash
# Builds the Temporal server and its SQL schema tool from the Go module proxy at a pinned
# version, into .tools/temporal-server/<version>/ (bin/temporal-server, bin/temporal-sql-tool,
# schema/ and config/ copied from the module). A second run with the same version does nothing.
#
# Why from source: Temporal publishes its server as Docker images and release tarballs; this
# machine has no Docker engine and reaches only package registries, of which the Go module
# proxy serves the server's source. The compose file pins the same version (scripts/check-compose.sh
# checks that the two agree).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The one pin: docker-compose.yml's image tags must match it (scripts/check-compose.sh checks).
VERSION="$(tr -d '[:space:]' <"$ROOT/deploy/temporal/server-version")"
OUT="${TEMPORAL_SERVER_DIR:-$ROOT/.tools/temporal-server}/$VERSION"
STAMP="$OUT/.built"

if [[ -f "$STAMP" && -x "$OUT/bin/temporal-server" && -x "$OUT/bin/temporal-sql-tool" ]]; then
  echo "[temporal:build] temporal-server $VERSION already built in $OUT"
  exit 0
fi

command -v go >/dev/null || { echo "[temporal:build] needs Go (go.dev/dl); none on PATH" >&2; exit 1; }

started=$(date +%s)
echo "[temporal:build] building go.temporal.io/server v$VERSION with $(go version | cut -d' ' -f3) into $OUT (measured here on 2 cores: 8 minutes from an empty Go cache, half a minute from a warm one)"

# A throwaway module that only requires the server: its go.mod pins every dependency at the
# version the server's own go.mod asks for (go get resolves the server's requirements).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
go mod init herald.local/temporal-server-build >/dev/null 2>&1
go get "go.temporal.io/server@v$VERSION"

mkdir -p "$OUT/bin.tmp"
go build -trimpath -o "$OUT/bin.tmp/temporal-server" go.temporal.io/server/cmd/server
go build -trimpath -o "$OUT/bin.tmp/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql

# The module carries the SQL schemas and sample configs; copy them next to the binaries so the
# setup script does not depend on the Go module cache staying put.
moddir="$(go list -m -f '{{.Dir}}' go.temporal.io/server)"
rm -rf "$OUT/schema" "$OUT/config" "$OUT/bin"
mkdir -p "$OUT/schema"
cp -r "$moddir/schema/postgresql" "$OUT/schema/postgresql"
cp -r "$moddir/config" "$OUT/config"
chmod -R u+w "$OUT/schema" "$OUT/config"
mv "$OUT/bin.tmp" "$OUT/bin"

elapsed=$(( $(date +%s) - started ))
echo "$VERSION built in ${elapsed}s with $(go version | cut -d' ' -f3)" >"$STAMP"
echo "[temporal:build] built temporal-server $VERSION in ${elapsed}s"
