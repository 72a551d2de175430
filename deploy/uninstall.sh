#!/bin/bash
# Removes what deploy/install.sh added. Keeps the state (/var/lib/outpost), the NATS nkey seeds
# (/etc/outpost/nats/creds: the node's identity on the bus) and configuration files an operator changed,
# unless --purge is given, which removes those too, and the agents' users.
#
#   deploy/uninstall.sh [--root DIR] [--prefix DIR] [--purge]
#
# --prefix defaults to the one install.sh recorded in /etc/outpost/install.env.
set -euo pipefail
export LC_ALL=C

ROOT=
PREFIX=
PURGE=no
die() {
  echo "uninstall.sh: $*" >&2
  exit 1
}
say() { echo "uninstall.sh: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a value}; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a value}; shift 2 ;;
    --prefix=*) PREFIX=${1#*=}; shift ;;
    --purge) PURGE=yes; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root"
if [ -n "$ROOT" ]; then
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" != / ] || ROOT=
fi
ETC="$ROOT/etc/outpost"
UNITDIR="$ROOT/etc/systemd/system"
if [ -z "$PREFIX" ] && [ -f "$ETC/install.env" ]; then
  PREFIX=$(sed -n 's/^OUTPOST_PREFIX=//p' "$ETC/install.env")
fi
PREFIX=${PREFIX:-/opt/outpost}
TARGET="$ROOT$PREFIX"
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then LIVE=yes; else LIVE=no; fi
SYSTEMCTL=(systemctl)
[ "$LIVE" = yes ] || SYSTEMCTL=(systemctl "--root=${ROOT:-/}")

# --- units: stop, disable, remove -----------------------------------------------------------------------------
UNITS=()
for unit in "$UNITDIR"/outpost.target "$UNITDIR"/outpost-*.service "$UNITDIR"/outpost-*.timer; do
  [ -f "$unit" ] && UNITS+=("$(basename "$unit")")
done
if [ ${#UNITS[@]} -gt 0 ]; then
  ENABLED=()
  for u in "${UNITS[@]}"; do case "$u" in *@.service) ;; *) ENABLED+=("$u") ;; esac; done
  if [ "$LIVE" = yes ]; then systemctl stop "${ENABLED[@]}" || true; fi
  "${SYSTEMCTL[@]}" disable --quiet "${ENABLED[@]}" || true
  for u in "${UNITS[@]}"; do rm -f "$UNITDIR/$u"; done
  if [ "$LIVE" = yes ]; then systemctl daemon-reload; fi
fi
rm -f "$ROOT"/etc/polkit-1/rules.d/50-outpost-*.rules
rm -f "$ROOT"/etc/udev/rules.d/70-outpost-*.rules
rm -f "$UNITDIR/outpost-update-agent.service.d/50-update-server.conf"
rmdir "$UNITDIR/outpost-update-agent.service.d" 2>/dev/null || true
# install.sh masked it so that only the update agent blesses boot entries (see install.sh).
if [ "$(readlink "$UNITDIR/systemd-bless-boot.service" 2>/dev/null)" = /dev/null ]; then
  "${SYSTEMCTL[@]}" unmask --quiet systemd-bless-boot.service || true
fi
rm -f "$ROOT/etc/tmpfiles.d/outpost.conf"

# --- the bundle --------------------------------------------------------------------------------------------------
if [ -f "$TARGET/bundle.json" ]; then
  if [ "$(readlink "$ROOT/usr/local/bin/outpostctl" 2>/dev/null)" = "$PREFIX/bin/outpostctl" ]; then
    rm -f "$ROOT/usr/local/bin/outpostctl"
  fi
  rm -rf "$TARGET"
else
  say "$TARGET holds no Outpost bundle; left alone"
fi

# --- configuration: what install.sh wrote and nobody changed --------------------------------------------------
if [ -f "$ETC/.defaults.sha256" ]; then
  while read -r hash path; do
    file="$ROOT$path"
    [ -f "$file" ] || continue
    if [ "$(sha256sum <"$file" | cut -d' ' -f1)" = "$hash" ] || [ "$PURGE" = yes ]; then
      rm -f "$file"
    else
      say "kept $path (changed since install)"
    fi
  done <"$ETC/.defaults.sha256"
  rm -f "$ETC/.defaults.sha256"
fi
rm -f "$ETC/cluster-provider.env" "$ETC/install.env" "$ETC/nats/nats-server.conf" "$ETC/nats/provision.env"

if [ "$PURGE" = yes ]; then
  rm -rf "$ETC" "$ROOT/var/lib/outpost" "$ROOT/run/outpost"
  for user in $(awk '$1 == "u" { print $2 }' "$ROOT/etc/sysusers.d/outpost.conf" 2>/dev/null); do
    if [ -n "$ROOT" ]; then userdel --root "$ROOT" "$user" 2>/dev/null || true; else userdel "$user" 2>/dev/null || true; fi
    if [ -n "$ROOT" ]; then groupdel --root "$ROOT" "$user" 2>/dev/null || true; else groupdel "$user" 2>/dev/null || true; fi
  done
  rm -f "$ROOT/etc/sysusers.d/outpost.conf"
  say "purged: state, configuration, credentials and users"
else
  # Users stay (they own the state); their sysusers.d entry stays with them, so a boot does not recreate
  # them with other ids. Empty configuration directories go.
  find "$ETC" -depth -mindepth 1 -type d -empty -not -path "$ETC/nats/creds" -delete 2>/dev/null || true
  say "kept: /var/lib/outpost (state), /etc/outpost/nats/creds (nkey seeds), users; --purge removes them"
fi
say "done"
