#!/usr/bin/env bash
# Builds and installs the Citus extension for Debian's PostgreSQL, once per machine.
# Citus is not a Debian package, so it is built from the upstream source of one release tag:
#   - FENQI_CITUS_SOURCE=/path/citus-13.2.2.tar.gz   a local copy of that source (machines without
#     internet; `git archive --prefix=citus-13.2.2/ v13.2.2` of the upstream repository), else
#   - a shallow clone of https://github.com/citusdata/citus at tag v13.2.2, unless
#     FENQI_CITUS_NO_CLONE=1 (CI: build only from a local source, never reach out).
# Skips everything when citus.so of this version is already installed for this PostgreSQL.
# Exit codes: 0 installed (or already there), 3 Citus unavailable (no source reachable; the reason
# is printed), anything else a real failure. Needs root (or sudo) to install build deps and the .so.
set -euo pipefail

readonly CITUS_VERSION="13.2.2"
readonly CITUS_TAG="v${CITUS_VERSION}"
readonly CITUS_REPO_URL="https://github.com/citusdata/citus.git"
readonly PG_MAJOR="${FENQI_PG_MAJOR:-15}"
readonly CLONE_TIMEOUT_S=120
readonly EXIT_UNAVAILABLE=3
readonly LOCK_FILE="/tmp/fenqi-citus-build.lock"
readonly PATCH_DIR="$(cd "$(dirname "$0")" && pwd)/citus"

pg_bin="/usr/lib/postgresql/${PG_MAJOR}/bin"
pg_lib="/usr/lib/postgresql/${PG_MAJOR}/lib"

installed() {
  # citus.so carries its release in the version string that citus_version() reports.
  [ -f "${pg_lib}/citus.so" ] && grep -aq "Citus ${CITUS_VERSION} " "${pg_lib}/citus.so"
}

unavailable() {
  echo "citus: unavailable: $*" >&2
  exit "$EXIT_UNAVAILABLE"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_build_deps() {
  local deps=(postgresql-server-dev-"${PG_MAJOR}" build-essential liblz4-dev libzstd-dev libkrb5-dev
    libssl-dev libicu-dev libreadline-dev patch)
  local missing=()
  for d in "${deps[@]}"; do dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "citus: run as root or install: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "citus: installing build deps: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # policy-rc.d keeps Debian from (re)starting packaged clusters: tests start their own.
  printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
  as_root chmod +x /usr/sbin/policy-rc.d
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  as_root rm -f /usr/sbin/policy-rc.d
}

fetch_source() { # $1: directory to put citus-$CITUS_VERSION into
  local into="$1"
  if [ -n "${FENQI_CITUS_SOURCE:-}" ]; then
    [ -f "$FENQI_CITUS_SOURCE" ] || unavailable "FENQI_CITUS_SOURCE=$FENQI_CITUS_SOURCE is not a file"
    echo "citus: source from $FENQI_CITUS_SOURCE"
    tar -xzf "$FENQI_CITUS_SOURCE" -C "$into"
    [ -f "$into/citus-${CITUS_VERSION}/configure" ] ||
      unavailable "$FENQI_CITUS_SOURCE holds no citus-${CITUS_VERSION}/ source tree"
    return 0
  fi
  [ "${FENQI_CITUS_NO_CLONE:-0}" = 1 ] &&
    unavailable "not installed, no FENQI_CITUS_SOURCE, and FENQI_CITUS_NO_CLONE=1 forbids cloning $CITUS_REPO_URL"
  command -v git >/dev/null || unavailable "no FENQI_CITUS_SOURCE and no git to clone $CITUS_REPO_URL"
  echo "citus: cloning $CITUS_REPO_URL at $CITUS_TAG"
  if ! GIT_TERMINAL_PROMPT=0 timeout "$CLONE_TIMEOUT_S" git clone -q --depth 1 --branch "$CITUS_TAG" \
    "$CITUS_REPO_URL" "$into/citus-${CITUS_VERSION}" 2>&1; then
    unavailable "cannot clone $CITUS_REPO_URL ($CITUS_TAG): no internet? Set FENQI_CITUS_SOURCE to a local citus-${CITUS_VERSION}.tar.gz"
  fi
}

build_and_install() { # $1: source tree
  local src="$1"
  # PostgreSQL 15.20 exports have_createdb_privilege(), which Citus's compat header also defines
  # for PostgreSQL < 16; remove the static copy only where the server declares its own.
  if grep -q 'have_createdb_privilege' "$("${pg_bin}/pg_config" --includedir-server)/commands/dbcommands.h"; then
    patch -d "$src" -p1 -s <"${PATCH_DIR}/pg15.20-have_createdb_privilege.patch"
  fi
  echo "citus: building ${CITUS_VERSION} for PostgreSQL ${PG_MAJOR} (a few minutes)"
  (cd "$src" && PG_CONFIG="${pg_bin}/pg_config" ./configure --without-libcurl --silent >/dev/null)
  nice -n 10 make -C "$src" -s -j"$(nproc)" >/dev/null 2> >(grep -v "recipe for target" >&2)
  as_root make -C "$src" -s install >/dev/null
}

main() {
  installed && exit 0
  exec 9>"$LOCK_FILE"
  flock 9 # another worktree may be building right now
  installed && exit 0
  # global, not local: the EXIT trap runs after main has returned
  work_dir="$(mktemp -d)"
  trap 'rm -rf "$work_dir"' EXIT
  fetch_source "$work_dir" # first: without a source there is nothing to install deps for
  install_build_deps
  build_and_install "$work_dir/citus-${CITUS_VERSION}"
  installed || { echo "citus: build finished but ${pg_lib}/citus.so is not Citus ${CITUS_VERSION}" >&2; exit 1; }
  echo "citus: installed ${CITUS_VERSION} into ${pg_lib}"
}

main "$@"
