#!/usr/bin/env bash
# The one-machine disaster-recovery topology (docs/operations.md), as a thin wrapper over
# `fenqi ops`:  scripts/topology.sh up | down | status | backup [--type full] | failback |
# drill failover|region|restore | schedule (prints the backup crontab for a real primary host).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd="${1:-status}"
[ "$#" -gt 0 ] && shift
case "$cmd" in
  schedule)
    # For real hosts: on the pgBackRest repository host, whose pgbackrest.conf lists pg1..pg3 (one
    # per data center); pgBackRest finds the current primary among them by itself.
    cat <<'CRON'
# m  h  dom mon dow  user      command
  0  1  *   *   0    pgbackrest  pgbackrest --stanza=fenqi --repo=1 --type=full backup && pgbackrest --stanza=fenqi --repo=2 --type=full backup
  0  1  *   *   1-6  pgbackrest  pgbackrest --stanza=fenqi --repo=1 --type=diff backup && pgbackrest --stanza=fenqi --repo=2 --type=diff backup
 15  *  *   *   *    pgbackrest  pgbackrest --stanza=fenqi --repo=1 --type=incr backup
 45  *  *   *   *    pgbackrest  pgbackrest --stanza=fenqi --repo=2 --type=incr backup
CRON
    ;;
  *) exec ./bin/fenqi ops "$cmd" "$@" ;;
esac
