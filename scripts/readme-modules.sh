#!/usr/bin/env bash
# Rewrites the module table between the README's markers from `cutover doc --markdown`.
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(go run ./cmd/cutover doc --markdown)
TABLE="$table" awk '
  /<!-- modules:begin -->/ { print; print ENVIRON["TABLE"]; skip=1; next }
  /<!-- modules:end -->/ { skip=0 }
  !skip { print }
' README.md > README.md.tmp && mv README.md.tmp README.md
