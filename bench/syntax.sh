#!/usr/bin/env bash
# --syntax-check of the migration's three playbooks, the same flags for
# both: ansible-playbook against cutover, side by side with hyperfine
# (each at least 30 runs and 3 seconds, so cutover's median comes from a
# few hundred runs rather than a moment's luck; no shell: it would cost
# more than cutover's run), in ROUNDS rounds. The results go to
# bench/RESULTS.md. Needs no lab and no root once hyperfine and
# ansible-core are installed.
#
#   bench/syntax.sh            # ROUNDS=3 by default
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
if ! command -v hyperfine >/dev/null || ! command -v ansible-playbook >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "needs hyperfine and ansible-core: run as root to install them" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine ansible-core >/dev/null
fi
make -s build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Ansible resolves every module name, so cutover's own get stub files in a
# library folder (found, never run); cutover ignores ANSIBLE_LIBRARY.
mkdir -p "$work/library"
for m in $(bin/cutover doc | awk '{print $1}'); do echo "# stub for --syntax-check" > "$work/library/$m.py"; done
books="playbooks/before-downtime.yml playbooks/during-downtime.yml playbooks/after-downtime.yml"
args="-i inventory/lab.yml --vault-password-file inventory/lab.vault-password --syntax-check $books"
# Rounds, one after the other: this VM's speed drifts by a third from one
# minute to the next (its other services, its second core), and cutover's
# few milliseconds feel it more than Ansible's half second; every round is
# shown, and the median of their ratios.
rounds=${ROUNDS:-3}
for r in $(seq 1 "$rounds"); do
  ANSIBLE_LIBRARY=$work/library ANSIBLE_HOME=$work/ansible-home ANSIBLE_LOCAL_TEMP=$work/ansible-tmp \
    hyperfine -N -w 3 -m 30 --export-markdown "$work/syntax-$r.md" --export-json "$work/syntax-$r.json" \
    -n "ansible-playbook --syntax-check" "ansible-playbook $args" \
    -n "cutover run --syntax-check" "bin/cutover run $args"
done

{
  echo "## --syntax-check of the migration's three playbooks ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r))"
  echo
  cat "$work/syntax-1.md"
  echo
  python3 - "$work"/syntax-*.json <<'PY'
import json, statistics, sys
ratios = []
for i, path in enumerate(sys.argv[1:], 1):
    r = {x["command"]: x["median"] for x in json.load(open(path))["results"]}
    a, c = r["ansible-playbook --syntax-check"], r["cutover run --syntax-check"]
    ratios.append(a / c)
    print(f"- round {i}: ansible-playbook {a * 1000:.0f} ms, cutover {c * 1000:.1f} ms median; cutover is {a / c:.0f}x as fast")
print(f"- the median round: cutover is {statistics.median(ratios):.0f}x as fast (the table above is round 1)")
PY
  echo
} | tee -a bench/RESULTS.md
