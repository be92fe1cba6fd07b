#!/usr/bin/env bash
# A lab of real OpenSSH servers on loopback, for cutover's tests and for
# trying playbooks by hand. As root:
#
#   scripts/sshlab.sh up DIR N [NET]   prepare DIR and start N sshd on 127.0.NET.1..N port 2222 (NET default 10)
#   scripts/sshlab.sh down DIR         stop them (by the pids recorded in DIR)
#   scripts/sshlab.sh prepare DIR N [NET]   only write keys, configs and the lab's users
#   scripts/sshlab.sh run DIR I        run host I's sshd in the foreground (the Go helper uses this)
#
# DIR gets a client key (id_ed25519), a known_hosts file for every host, an
# inventory (hosts.ini), and per host its host key, sshd_config and log.
# Each sshd runs in its own mount and pid namespace where the lab's
# /etc/passwd, /etc/shadow, /etc/group and /etc/sudoers are bound over the
# real ones: the user "deploy" (password deploy-pw, sudo with password) and
# "app" exist only there. Each host also gets its own /etc/hosts,
# /etc/sudoers.d, /etc/cron.d, /var/spool/cron/crontabs and /root (DIR/hostI/root/
# holds them, so tests can look from outside). Nothing of this machine's
# own /etc or crontabs changes.
# A host may have more of its own: DIR/hostI/root/home and
# DIR/hostI/root/var/www are bound over /home and /var/www when they exist,
# and DIR/hostI/boot, when it exists, runs inside the namespace before sshd
# starts (the rehearsal lab starts each host's PostgreSQL there).
# Killing the namespace's first process ends sshd, every open connection
# and whatever boot started, which is how the tests cut a host off in the
# middle of a run.
set -euo pipefail

die() { echo "sshlab: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (it starts sshd and bind-mounts inside a namespace)"

ensure_sshd() {
  if [ ! -x /usr/sbin/sshd ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
  fi
  mkdir -p -m 0755 /run/sshd  # sshd's privilege separation folder
}

prepare() {
  local dir=$1 n=$2 net=${3:-10}
  ensure_sshd
  mkdir -p -m 0700 "$dir"
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C cutover-lab -f "$dir/id_ed25519"
  # The lab's users, only ever bound inside the sshd namespaces.
  mkdir -p "$dir/etc" "$dir/home/deploy/.ssh" "$dir/home/app"
  cp /etc/passwd "$dir/etc/passwd"; cp /etc/group "$dir/etc/group"; cp /etc/shadow "$dir/etc/shadow"
  echo "deploy:x:2001:2001:cutover lab:$dir/home/deploy:/bin/sh" >> "$dir/etc/passwd"
  echo "app:x:2002:2002:cutover lab:$dir/home/app:/bin/sh" >> "$dir/etc/passwd"
  echo "finance:x:2003:2003:finance scripts:/home/finance:/bin/sh" >> "$dir/etc/passwd"
  printf 'deploy:x:2001:\napp:x:2002:\nfinance:x:2003:\n' >> "$dir/etc/group"
  echo "deploy:$(openssl passwd -6 -salt cutoverlab deploy-pw):19000:0:99999:7:::" >> "$dir/etc/shadow"
  echo "app:!:19000:0:99999:7:::" >> "$dir/etc/shadow"
  echo "finance:!:19000:0:99999:7:::" >> "$dir/etc/shadow"
  { cat /etc/sudoers; echo 'deploy ALL=(ALL:ALL) ALL'; echo 'Defaults:deploy !requiretty'; } > "$dir/etc/sudoers"
  chmod 0440 "$dir/etc/sudoers"; chmod 0640 "$dir/etc/shadow"
  visudo -cqf "$dir/etc/sudoers" || die "lab sudoers does not validate"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  cp "$dir/id_ed25519.pub" "$dir/home/deploy/.ssh/authorized_keys"
  chown -R 2001:2001 "$dir/home/deploy"; chown -R 2002:2002 "$dir/home/app"
  chmod 0755 "$dir/home" "$dir/home/deploy"; chmod 0700 "$dir/home/deploy/.ssh"
  : > "$dir/known_hosts"
  echo "# cutover lab: $n hosts" > "$dir/hosts.ini"
  local i
  for i in $(seq 1 "$n"); do
    local h=$dir/host$i addr=127.0.$net.$i
    mkdir -p "$h"
    # The host's own system files, bound over the real ones in its namespace.
    mkdir -p "$h/root/etc/sudoers.d" "$h/root/etc/cron.d" "$h/root/var/spool/cron/crontabs"
    # root's own home, as on a fresh server: this machine's /root (and
    # whatever its shell startup files run for every ssh command) stays out.
    if [ ! -d "$h/root/root" ]; then
      mkdir -p -m 0700 "$h/root/root"
      cp /etc/skel/.bashrc /etc/skel/.profile "$h/root/root/" 2>/dev/null || true
    fi
    [ -f "$h/root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$h/root/etc/hosts"
    chmod 0750 "$h/root/etc/sudoers.d"
    chgrp crontab "$h/root/var/spool/cron/crontabs" 2>/dev/null || true
    chmod 1730 "$h/root/var/spool/cron/crontabs"
    [ -f "$h/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C "lab host $i" -f "$h/ssh_host_ed25519_key"
    cat > "$h/sshd_config" <<CONF
ListenAddress $addr
Port 2222
HostKey $h/ssh_host_ed25519_key
PidFile none
# The lab lives wherever the tests put it, /tmp included.
StrictModes no
AuthorizedKeysFile .ssh/authorized_keys $dir/authorized_keys
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
LogLevel VERBOSE
MaxStartups 100:30:200
PrintMotd no
CONF
    echo "[$addr]:2222 $(cut -d' ' -f1,2 "$h/ssh_host_ed25519_key.pub")" >> "$dir/known_hosts"
    echo "host$i ansible_host=$addr ansible_port=2222 ansible_user=root ansible_ssh_private_key_file=$dir/id_ed25519 ansible_ssh_known_hosts_file=$dir/known_hosts" >> "$dir/hosts.ini"
  done
}

run() {
  local dir=$1 i=$2
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/host$i/etc-upper" "$dir/host$i/etc-work"
  # /etc is an overlay: whatever the host writes there (temp files of an
  # atomic write included) stays in host$i/etc-upper, never in this
  # machine's /etc. The lab's own files are bound on top.
  exec unshare -m -p -f --kill-child --propagation private /bin/sh -c "
    mount -t overlay overlay -o 'lowerdir=/etc,upperdir=$dir/host$i/etc-upper,workdir=$dir/host$i/etc-work' /etc &&
    mount --bind '$dir/etc/passwd' /etc/passwd && mount --bind '$dir/etc/group' /etc/group &&
    mount --bind '$dir/etc/shadow' /etc/shadow && mount --bind '$dir/etc/sudoers' /etc/sudoers &&
    mount --bind '$dir/host$i/root/etc/hosts' /etc/hosts &&
    mount --bind '$dir/host$i/root/root' /root &&
    mount --bind '$dir/host$i/root/etc/sudoers.d' /etc/sudoers.d &&
    mount --bind '$dir/host$i/root/etc/cron.d' /etc/cron.d &&
    mkdir -p /var/spool/cron/crontabs &&
    mount --bind '$dir/host$i/root/var/spool/cron/crontabs' /var/spool/cron/crontabs &&
    { [ ! -d '$dir/host$i/root/home' ] || mount --bind '$dir/host$i/root/home' /home; } &&
    { [ ! -d '$dir/host$i/root/var/www' ] || { mkdir -p /var/www && mount --bind '$dir/host$i/root/var/www' /var/www; }; } &&
    { [ ! -f '$dir/host$i/boot' ] || /bin/sh '$dir/host$i/boot'; } &&
    exec /usr/sbin/sshd -D -e -f '$dir/host$i/sshd_config'"
}

up() {
  local dir=$1 n=$2 net=${3:-10} i
  prepare "$dir" "$n" "$net"
  dir=$(cd "$dir" && pwd)
  for i in $(seq 1 "$n"); do
    "$0" run "$dir" "$i" > "$dir/host$i/sshd.log" 2>&1 &
    echo $! > "$dir/host$i/pid"
  done
  for i in $(seq 1 "$n"); do
    for _ in $(seq 1 100); do
      grep -q "Server listening" "$dir/host$i/sshd.log" 2>/dev/null && break
      sleep 0.05
    done
    grep -q "Server listening" "$dir/host$i/sshd.log" || die "host$i did not start: $(cat "$dir/host$i/sshd.log")"
    echo "host$i 127.0.$net.$i:2222 pid $(cat "$dir/host$i/pid")"
  done
  echo "inventory: $dir/hosts.ini"
}

down() {
  local dir=$1 p
  for p in "$dir"/host*/pid; do
    [ -f "$p" ] || continue
    kill -KILL "$(cat "$p")" 2>/dev/null || true
    rm -f "$p"
  done
}

case "${1:-}" in
  prepare) prepare "$2" "$3" "${4:-10}" ;;
  run) run "$2" "$3" ;;
  up) up "$2" "$3" "${4:-10}" ;;
  down) down "$2" ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
