#!/bin/bash
# Installs an Outpost bundle (made by `npm run bundle`; this script ships inside it as deploy/install.sh)
# on a node, or into a directory tree standing for one (--root).
#
#   deploy/install.sh [--mode split|all-in-one] [--prefix /opt/outpost] [--root DIR] [--node-id ID]
#                     [--update-server ADDRESS[/PREFIX]]... [--no-start]
#
#   --mode split        one unit per agent (default);  all-in-one: outpost-edge-node.service only.
#                       Exactly one set is enabled; the other is disabled (and stopped). Switching modes is
#                       running install.sh again with the other --mode.
#   --prefix DIR        where the bundle goes (default /opt/outpost); the units are rewritten to match.
#   --root DIR          install into DIR as if it were / (image builds, tests): users and directories are
#                       created in DIR, units enabled with `systemctl --root`, nothing is started.
#   --node-id ID        the node id (default: derived from /etc/machine-id the way the agents do it); written
#                       to /etc/outpost/outpost.json, so the agents and the NATS permissions agree on it.
#   --update-server A   an address (IPv4/IPv6, optionally /prefix) the update agent may download from;
#                       repeatable. Written to the drop-in outpost-update-agent.service.d/50-update-server.conf
#                       (IPAddressAllow=); without it the agent reaches localhost only (an image server on
#                       the node, or a proxy there). Given again, it replaces the list; not given, it stays.
#   --no-start          enable, but do not start or restart anything.
#
# What goes where: the bundle in PREFIX (root-owned, read-only for the agents); units in /etc/systemd/system;
# users in /etc/sysusers.d/outpost.conf; directories in /etc/tmpfiles.d/outpost.conf; polkit rules in
# /etc/polkit-1/rules.d; the slot partitions' udev rule in /etc/udev/rules.d; configuration in /etc/outpost (files that exist are never overwritten); state in
# /var/lib/outpost (never touched). deploy/uninstall.sh undoes it. See docs/deploy.md.
set -euo pipefail
umask 022
export LC_ALL=C

BUNDLE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=split
PREFIX=/opt/outpost
ROOT=
NODE_ID=
START=yes
UPDATE_SERVERS=()

die() {
  echo "install.sh: $*" >&2
  exit 1
}
say() { echo "install.sh: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE=${2:?--mode needs a value}; shift 2 ;;
    --mode=*) MODE=${1#*=}; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a value}; shift 2 ;;
    --prefix=*) PREFIX=${1#*=}; shift ;;
    --root) ROOT=${2:?--root needs a value}; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --node-id) NODE_ID=${2:?--node-id needs a value}; shift 2 ;;
    --node-id=*) NODE_ID=${1#*=}; shift ;;
    --update-server) UPDATE_SERVERS+=("${2:?--update-server needs a value}"); shift 2 ;;
    --update-server=*) UPDATE_SERVERS+=("${1#*=}"); shift ;;
    --no-start) START=no; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

case "$MODE" in split | all-in-one) ;; *) die "--mode must be split or all-in-one, not '$MODE'" ;; esac
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path" ;; esac
PREFIX=${PREFIX%/}
if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" != / ] || ROOT=
fi
[ "$(id -u)" = 0 ] || die "run as root (the files belong to root and the agents' users)"
[ -f "$BUNDLE/bundle.json" ] && [ -x "$BUNDLE/node/bin/node" ] ||
  die "$BUNDLE is not an Outpost bundle: run \`npm run bundle\` and use dist/bundle/outpost/deploy/install.sh"
if [ -n "$NODE_ID" ] && ! [[ "$NODE_ID" =~ ^[A-Za-z0-9_-]{1,64}$ ]]; then die "--node-id: 1-64 of A-Z a-z 0-9 _ -"; fi
for server in ${UPDATE_SERVERS[@]+"${UPDATE_SERVERS[@]}"}; do
  [[ "$server" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(/[0-9]{1,3})?)$ ]] ||
    die "--update-server '$server': an IPv4 or IPv6 address, optionally with /prefix"
done

NODE="$BUNDLE/node/bin/node"
ETC="$ROOT/etc/outpost"
UNITDIR="$ROOT/etc/systemd/system"
# systemd: offline against the tree when --root is given or PID 1 is not systemd (image builds, containers).
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then LIVE=yes; else LIVE=no; fi
SYSTEMCTL=(systemctl)
[ "$LIVE" = yes ] || SYSTEMCTL=(systemctl "--root=${ROOT:-/}")

bundle_json() { "$NODE" -e 'const b=require(process.argv[1]);const v=b[process.argv[2]];console.log(Array.isArray(v)?v.join(" "):v)' "$BUNDLE/bundle.json" "$1"; }
AGENTS=$(bundle_json agents)
VERSION=$(bundle_json version)

# Numeric ids from the tree's own user database (with --root the host's may differ or lack the users).
gid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$ROOT/etc/group"; }

# --- 1. the bundle, swapped in whole (an upgrade never runs a half-copied tree) --------------------------
TARGET="$ROOT$PREFIX"
say "installing Outpost $VERSION ($(bundle_json arch), Node $(bundle_json node)) to $TARGET, mode $MODE"
mkdir -p "$(dirname "$TARGET")"
rm -rf "$TARGET.new" "$TARGET.old"
cp -a "$BUNDLE/." "$TARGET.new/"
chown -R root:root "$TARGET.new"
chmod -R go-w,u+w "$TARGET.new"
chmod 0755 "$TARGET.new"
if [ -e "$TARGET" ]; then mv "$TARGET" "$TARGET.old"; fi
mv "$TARGET.new" "$TARGET"
rm -rf "$TARGET.old"
# The operator CLI on PATH (it speaks only the bus; see docs/outpostctl.md).
if [ -x "$TARGET/bin/outpostctl" ]; then
  install -d -m 0755 "$ROOT/usr/local/bin"
  ln -sfn "$PREFIX/bin/outpostctl" "$ROOT/usr/local/bin/outpostctl"
fi

# --- 2. users and directories -------------------------------------------------------------------------------
install -d -m 0755 "$ROOT/etc/sysusers.d" "$ROOT/etc/tmpfiles.d" "$UNITDIR" "$ROOT/etc/polkit-1/rules.d"
install -m 0644 "$BUNDLE/deploy/sysusers.d/outpost.conf" "$ROOT/etc/sysusers.d/outpost.conf"
install -m 0644 "$BUNDLE/deploy/tmpfiles.d/outpost.conf" "$ROOT/etc/tmpfiles.d/outpost.conf"
if [ -n "$ROOT" ]; then
  systemd-sysusers --root="$ROOT" "$ROOT/etc/sysusers.d/outpost.conf"
  systemd-tmpfiles --root="$ROOT" --create "$ROOT/etc/tmpfiles.d/outpost.conf"
else
  systemd-sysusers /etc/sysusers.d/outpost.conf
  systemd-tmpfiles --create /etc/tmpfiles.d/outpost.conf
fi

# --- 3. units, rewritten for the prefix; polkit rules ----------------------------------------------------
UNITS=()
for unit in "$BUNDLE"/deploy/systemd/*.service "$BUNDLE"/deploy/systemd/*.target "$BUNDLE"/deploy/systemd/*.timer; do
  name=$(basename "$unit")
  UNITS+=("$name")
  sed "s#/opt/outpost/#$PREFIX/#g" "$unit" >"$UNITDIR/$name.tmp"
  chmod 0644 "$UNITDIR/$name.tmp"
  mv "$UNITDIR/$name.tmp" "$UNITDIR/$name"
done
for rules in "$BUNDLE"/deploy/polkit-1/rules.d/*.rules; do
  install -m 0644 "$rules" "$ROOT/etc/polkit-1/rules.d/$(basename "$rules")"
done
# The slot partitions to the group outpost-slots (the update agent opens them through it).
install -d -m 0755 "$ROOT/etc/udev/rules.d"
for rules in "$BUNDLE"/deploy/udev/rules.d/*.rules; do
  install -m 0644 "$rules" "$ROOT/etc/udev/rules.d/$(basename "$rules")"
done
if [ -z "$ROOT" ] && command -v udevadm >/dev/null && [ -d /run/udev ]; then
  udevadm control --reload && udevadm trigger --subsystem-match=block --action=change || true
fi
# The update server(s) the update agent may reach (its unit allows localhost only).
if [ ${#UPDATE_SERVERS[@]} -gt 0 ]; then
  dropin="$UNITDIR/outpost-update-agent.service.d"
  install -d -m 0755 "$dropin"
  {
    echo "# Written by deploy/install.sh --update-server: where the update agent may download from."
    echo "[Service]"
    echo "IPAddressAllow=${UPDATE_SERVERS[*]}"
  } >"$dropin/50-update-server.conf.tmp"
  chmod 0644 "$dropin/50-update-server.conf.tmp"
  mv "$dropin/50-update-server.conf.tmp" "$dropin/50-update-server.conf"
fi

# --- 4. configuration: defaults only where there is no file yet ---------------------------------------------
DEFAULTS="$ETC/.defaults.sha256"
touch "$DEFAULTS"
chmod 0644 "$DEFAULTS"
write_default() { # name content: creates $ETC/name unless it exists; remembers its hash for uninstall
  local path="$ETC/$1"
  if [ -e "$path" ]; then return; fi
  printf '%s\n' "$2" >"$path.tmp"
  chmod 0644 "$path.tmp"
  mv "$path.tmp" "$path"
  printf '%s  %s\n' "$(sha256sum <"$path" | cut -d' ' -f1)" "/etc/outpost/$1" >>"$DEFAULTS"
}
if [ -z "$NODE_ID" ] && [ -f "$ETC/outpost.json" ]; then
  NODE_ID=$("$NODE" -e 'console.log(require(process.argv[1]).nodeId ?? "")' "$ETC/outpost.json")
fi
if [ -z "$NODE_ID" ]; then
  # The agents' derivation (libs/agent-runtime identity): HMAC-SHA256(machine-id, "outpost.node-id.v1"), 16 hex.
  machine_id=$(tr -d '[:space:]' <"$ROOT/etc/machine-id" 2>/dev/null || true)
  [[ "$machine_id" =~ ^[0-9a-f]{32}$ ]] || die "no usable $ROOT/etc/machine-id: pass --node-id"
  NODE_ID=$("$NODE" -e 'const c=require("node:crypto");console.log(c.createHmac("sha256",process.argv[1]).update("outpost.node-id.v1").digest("hex").slice(0,16))' "$machine_id")
fi
write_default outpost.json "{ \"nodeId\": \"$NODE_ID\" }"
required=$(for a in $AGENTS; do printf '"%s", ' "$a"; done)
write_default node.json "{ \"requiredAgents\": [${required%, }] }"
for agent in $AGENTS; do
  if [ "$agent" = node ]; then continue; fi
  if [ -f "$BUNDLE/deploy/config/$agent.json" ]; then
    write_default "$agent.json" "$(cat "$BUNDLE/deploy/config/$agent.json")"
  else
    write_default "$agent.json" "{}"
  fi
done
# Trusted settings of the root-side cluster installer: who may read the kubeconfig it writes.
if [ "$MODE" = split ]; then kube_group=outpost-cluster; else kube_group=outpost-edge; fi
printf 'OUTPOST_KUBECONFIG_GROUP=%s\n' "$kube_group" >"$ETC/cluster-provider.env"
chmod 0644 "$ETC/cluster-provider.env"
printf 'OUTPOST_PREFIX=%s\nOUTPOST_MODE=%s\nOUTPOST_VERSION=%s\n' "$PREFIX" "$MODE" "$VERSION" >"$ETC/install.env"
chmod 0644 "$ETC/install.env"

# --- 5. NATS: server configuration and one nkey seed per user --------------------------------------------
NATS="$ETC/nats"
NATS_USERS="$AGENTS edge-node admin"
if [ -f "$TARGET/tools/nats-config.mjs" ]; then
  say "NATS: nkey users ($NATS_USERS) by tools/nats-config.mjs"
  "$TARGET/node/bin/node" "$TARGET/tools/nats-config.mjs" --node-id "$NODE_ID" --out "$NATS" --mode "$MODE" \
    --store-dir /var/lib/outpost/nats/jetstream
else
  say "NATS: this bundle has no tools/nats-config.mjs; writing a loopback-only server configuration WITHOUT"
  say "      authentication and empty credential files. Any local process can use the bus. See docs/deploy.md."
  sed -e "s#@NODE_ID@#$NODE_ID#g" -e "s#@STORE_DIR@#/var/lib/outpost/nats/jetstream#g" \
    "$BUNDLE/deploy/nats/nats-server.local.conf" >"$NATS/nats-server.conf"
  for user in $NATS_USERS; do
    [ -e "$NATS/creds/$user.nk" ] || : >"$NATS/creds/$user.nk"
  done
fi
chown "root:$(gid_of outpost-nats)" "$NATS/nats-server.conf"
chmod 0640 "$NATS/nats-server.conf"
chown -R root:root "$NATS/creds"
chmod 0700 "$NATS/creds"
find "$NATS/creds" -type f -exec chmod 0600 {} +

# --- 6. one mode or the other --------------------------------------------------------------------------------
SPLIT_UNITS=()
for agent in $AGENTS; do SPLIT_UNITS+=("outpost-$agent-agent.service"); done
if [ "$MODE" = split ]; then
  ON=("${SPLIT_UNITS[@]}")
  OFF=(outpost-edge-node.service)
else
  ON=(outpost-edge-node.service)
  OFF=("${SPLIT_UNITS[@]}")
fi
if [ "$LIVE" = yes ]; then systemctl daemon-reload; fi
"${SYSTEMCTL[@]}" disable --quiet "${OFF[@]}"
"${SYSTEMCTL[@]}" enable --quiet outpost.target outpost-nats.service outpost-nats-provision.service "${ON[@]}"
# Boot assessment: the update agent blesses (or marks bad) the entry it installed once the health trial
# has decided; systemd-bless-boot.service would mark it good as soon as boot-complete.target is reached,
# before the trial. Masked, so there is one verdict (docs/agents/update.md, "Boot assessment").
"${SYSTEMCTL[@]}" mask --quiet systemd-bless-boot.service
if [ "$LIVE" = yes ] && [ "$START" = yes ]; then
  systemctl stop "${OFF[@]}"
  systemctl restart outpost-nats.service
  systemctl restart outpost-nats-provision.service
  systemctl restart "${ON[@]}"
  systemctl start outpost.target
  say "started: outpost-nats.service outpost-nats-provision.service ${ON[*]} (systemctl status outpost.target)"
fi
say "done: Outpost $VERSION in $TARGET, node $NODE_ID, mode $MODE"
