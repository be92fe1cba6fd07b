#!/usr/bin/env bash
# Runs every fuzz target for $FUZZTIME (default 60s); the corpus of
# crashers found so far is kept in each package's testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
for target in engine/yamlx:FuzzLoad engine/playbook:FuzzLoadPlaybook engine/inventory:FuzzParseINI \
  engine/inventory:FuzzParseYAMLInventory engine/expr:FuzzTranslate; do
  pkg=${target%%:*} fn=${target##*:}
  go test -run='^$' -fuzz="^$fn\$" -fuzztime="${FUZZTIME:-60s}" "./$pkg"
done
