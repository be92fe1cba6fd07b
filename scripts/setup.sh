#!/usr/bin/env bash
# Installs what cutover's tests need on a Debian machine and starts the
# services. Safe to run again: it only installs and starts what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH=$PATH:/usr/local/go/bin
need=()
command -v ansible-playbook >/dev/null || need+=(ansible-core)
# The json stdout callback the cron comparison reads comes with Debian's
# collections package (ansible.posix).
[ -d /usr/lib/python3/dist-packages/ansible_collections/ansible/posix ] || need+=(ansible)
command -v visudo >/dev/null || need+=(sudo)
command -v crontab >/dev/null || need+=(cron)
command -v ip >/dev/null || need+=(iproute2)
command -v ufw >/dev/null || need+=(ufw)              # ufw_rule: run in a network namespace of the test's own
command -v iptables >/dev/null || need+=(iptables)
command -v update-rc.d >/dev/null || need+=(init-system-helpers)   # service: service(8), update-rc.d
command -v dpkg-deb >/dev/null || need+=(dpkg)      # apt: builds its throw-away package
[ -x /usr/sbin/sshd ] || need+=(openssh-server)   # the SSH lab's servers
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v openssl >/dev/null || need+=(openssl)      # the lab user's password hash
command -v pg_ctlcluster >/dev/null || need+=(postgresql postgresql-contrib)   # the database modules
command -v rabbitmq-server >/dev/null || need+=(rabbitmq-server)             # amqp_publish_test
command -v named >/dev/null || need+=(bind9)                                   # dns_record: a real BIND with TSIG
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${need[*]}: run as root or install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostgreSQL and RabbitMQ: the database and broker modules' tests use them.
# Start them when they are installed but not answering.
if command -v pg_ctlcluster >/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && break; sleep 0.2; done
fi
if command -v rabbitmq-server >/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  rabbitmq-server -detached || true
  for _ in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 0.2; done
fi
