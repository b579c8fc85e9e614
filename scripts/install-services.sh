#!/usr/bin/env bash
# Installs the Debian packages of the real servers the tests start on loopback, when missing:
# PostgreSQL (with pgaudit), Redis, NATS (with JetStream), Patroni + etcd (failover), pgBackRest (backups) and
# Chromium (the web tests drive it headless through playwright-core; no browser download) with a CJK font, and strace
# (a test traces an embedded start to prove it reads nothing outside the checkout).
# Idempotent and quick when everything is present. Needs root (or sudo) only when something is missing.
set -euo pipefail

declare -A probe=(
  [postgresql]="/usr/lib/postgresql/*/bin/postgres"
  [redis-server]="/usr/bin/redis-server"
  [nats-server]="/usr/sbin/nats-server"
  [patroni]="/usr/bin/patroni"
  [etcd-server]="/usr/bin/etcd"
  [etcd-client]="/usr/bin/etcdctl"
  [pgbackrest]="/usr/bin/pgbackrest"
  # pgaudit: `fenqi ops up` records DDL and role changes (docs/security.md)
  [postgresql-15-pgaudit]="/usr/lib/postgresql/*/lib/pgaudit.so"
  # Patroni's HTTPS to etcd and between members (urllib3) needs it; --no-install-recommends leaves it out
  [python3-idna]="/usr/lib/python3/dist-packages/idna"
  [chromium]="/usr/bin/chromium"
  # a CJK font: the headless Chromium of the web tests has no system font for Chinese, and the
  # screenshots people look at (artifacts/screenshots/) would show boxes instead of characters
  [fonts-wqy-microhei]="/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
  [strace]="/usr/bin/strace"
)

missing=()
for pkg in "${!probe[@]}"; do
  # shellcheck disable=SC2086
  compgen -G ${probe[$pkg]} >/dev/null || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run as root or install: apt-get install -y ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d keeps Debian from starting the packaged services: tests start their own on loopback.
printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
$sudo chmod +x /usr/sbin/policy-rc.d
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
$sudo rm -f /usr/sbin/policy-rc.d
echo "installed: ${missing[*]}"
