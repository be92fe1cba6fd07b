#!/usr/bin/env bash
# Installs what cutover's tests need on a Debian machine, starts the
# services, and runs every test. Safe to run again: it only installs and
# starts what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
export PATH=$PATH:/usr/local/go/bin
go vet ./...
go test -count=1 -timeout 20m ./...
# Fuzz targets run briefly here; `make fuzz` runs each for 60 s.
FUZZTIME=${FUZZTIME:-5s} ./scripts/fuzz.sh
