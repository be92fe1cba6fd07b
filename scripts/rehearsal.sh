#!/usr/bin/env bash
# The main job on the lab: bring the estate up (as root), then run the
# runbook's three phases against it, before-downtime in --check --diff
# first, then for real; print each recap, what changed per host, and how
# long the downtime phase took. The lab stays up for a look around:
#   bin/cutover lab status | bin/cutover lab snapshot | bin/cutover lab down
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
[ "$(id -u)" -eq 0 ] || { echo "make rehearsal needs root (namespaces, sshd, initdb as postgres)" >&2; exit 1; }
./scripts/setup.sh
make -s build
bin/cutover lab up

run=(bin/cutover run -i inventory/lab.yml -e @inventory/lab.vault.yml --vault-password-file inventory/lab.vault-password --yes)
log=$(mktemp -d /tmp/cutover-rehearsal.XXXXXX)
phase() { # phase NAME PLAYBOOK [ARGS...]: run it, keep its output, print its recap
  local name=$1 book=$2; shift 2
  local start=$(date +%s.%N)
  echo "== $name"
  if ! "${run[@]}" "playbooks/$book" "$@" > "$log/$name.txt" 2>&1; then
    cat "$log/$name.txt"; echo "$name failed (log: $log/$name.txt)" >&2; exit 1
  fi
  sed -n '/PLAY RECAP/,$p' "$log/$name.txt" | grep -v '^$'
  local took; took=$(echo "$(date +%s.%N) - $start" | bc | xargs printf '%.1f')
  echo "$name took $took s"
  [ "$name" != during ] || downtime=$took
}
downtime=?
phase before-check before-downtime.yml --check --diff
phase before before-downtime.yml
phase during during-downtime.yml
phase after after-downtime.yml

echo "== what changed, per host (real runs)"
for name in before during after; do
  sed -n 's/^\([a-z0-9-]*\) *: ok=[0-9]* *changed=\([0-9]*\).*/\1 \2/p' "$log/$name.txt" | sed "s/^/$name /"
done | awk '{c[$2]+=$3; p[$2]=p[$2] sprintf(" %s=%s", $1, $3)} END {for (h in c) printf "%-16s changed=%-3d (%s )\n", h, c[h], p[h]}' | sort
echo "downtime (during-downtime.yml): $downtime s"
echo "logs: $log; the lab is still up: bin/cutover lab down"
