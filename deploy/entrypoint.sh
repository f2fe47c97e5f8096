#!/bin/sh
# The container's `notion-unfurl` command: the image installs this script under that name
# (/usr/local/bin/notion-unfurl) and the real binary beside it, out of PATH.
#
# Why it exists: a fresh Fly volume (or an empty Docker volume on some hosts) is a
# root-owned ext4 file system mounted over the data directory, which the image's `unfurl`
# user could not write to. So the container starts as root, and this script
#   1. makes the data directory (UNFURL_DATA_DIR) belong to that user, when it does not
#      already: only that directory and what is inside it, nothing else in the image;
#   2. drops to the user with setpriv and execs the server, which then runs as PID 1 and
#      gets SIGTERM itself for its graceful stop.
# A non-root start (`docker run --user …`) skips both and just execs the server.
#
# Because it is the command's name, `fly ssh console -C "notion-unfurl notion-config"`
# (which runs as root) also runs as the user, so such a command never leaves a root-owned
# database or secret file on the volume that the server could then not open.
#
# setpriv (util-linux) rather than gosu or su-exec: util-linux is Essential in Debian, so
# bookworm-slim already has it and the image needs no extra package; unlike su or runuser,
# it execs directly (no PAM session, no intermediate process in front of the server).
#
# UNFURL_DATA_DIR must be given in the environment (the image sets it): a `data_dir` set
# only in a settings file (UNFURL_CONFIG) is not seen here.
#
# Overrides, for tests: NOTION_UNFURL_BIN (the program to exec), NOTION_UNFURL_USER (the
# user to run as). Neither starts with UNFURL_, which the server would warn about.
set -eu

bin=${NOTION_UNFURL_BIN:-/usr/local/lib/notion-unfurl/notion-unfurl}
user=${NOTION_UNFURL_USER:-unfurl}

if [ "$(id -u)" != 0 ]; then
    exec "$bin" "$@"
fi

if ! uid=$(id -u "$user" 2>/dev/null) || ! gid=$(id -g "$user" 2>/dev/null); then
    echo "notion-unfurl entrypoint: no user named $user to run the server as" >&2
    exit 1
fi

# The server's own default when the variable is unset or empty (relative to the working
# directory, as the server reads it).
data_dir=${UNFURL_DATA_DIR:-data}
mkdir -p -- "$data_dir"
# Only when the directory is not already the user's: a volume that was set up once is left
# alone, so a start costs one stat. Recursive because a volume restored from a snapshot
# taken under another uid holds files (secret.key is 0600) the server must read; -h changes
# symbolic links themselves, never what they point to.
if [ "$(stat -c %u -- "$data_dir")" != "$uid" ]; then
    chown -hR -- "$uid:$gid" "$data_dir"
fi

# --init-groups: the user's own supplementary groups instead of root's;
# --no-new-privs: nothing the server execs can regain privileges through a setuid file.
exec setpriv --reuid="$uid" --regid="$gid" --init-groups --no-new-privs -- "$bin" "$@"
