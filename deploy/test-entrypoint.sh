#!/bin/sh
# Tests deploy/entrypoint.sh without Docker: a root-owned directory stands in for a fresh
# Fly volume, a stub stands in for the server (NOTION_UNFURL_BIN), and an existing
# unprivileged user (`nobody` unless TEST_USER names another) stands in for `unfurl`, so
# the test adds no user to the machine it runs on. `.ci/run` calls it; CI runs as root.
# Run as another user, only the non-root case runs (the rest needs root to set up).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
user=${TEST_USER:-nobody}
uid=$(id -u "$user")
gid=$(id -g "$user")
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

check() { # what, expected, actual
    if [ "$2" != "$3" ]; then
        fail "$1: expected '$2', got '$3'"
    fi
}

# A stub the test user can reach: mktemp makes a 0700 directory, which only root enters.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
# A copy the test user can read wherever the checkout is (under /root, say).
entrypoint="$tmp/entrypoint.sh"
cp "$here/entrypoint.sh" "$entrypoint"
chmod 0755 "$entrypoint"
# What the stub reports goes here, writable by whichever user it runs as.
out=$tmp/out
mkdir "$out"
chmod 1777 "$out"

# The stub records who ran it (and with which groups: root's must be gone), its process id (exec keeps the entrypoint's), its
# arguments, and whether it could create a file in the data directory, as the server must.
stub="$tmp/stub"
cat >"$stub" <<'STUB'
#!/bin/sh
out=$STUB_OUT
echo "$(id -u):$(id -g)" >"$out.ids"
id -G >"$out.groups"
echo "$$" >"$out.pid"
printf '%s|' "$@" >"$out.args"
if (: >"${UNFURL_DATA_DIR:-data}/written") 2>/dev/null; then echo yes; else echo no; fi >"$out.wrote"
STUB
chmod 0755 "$stub"

# Run the entrypoint under dash (the image's /bin/sh) as a separate process, and record
# the process id it ran under for comparison with the stub's. Fails when it fails.
run_entrypoint() { # report prefix, then arguments for the server
    prefix=$1
    shift
    STUB_OUT=$prefix NOTION_UNFURL_BIN=$stub NOTION_UNFURL_USER=$user dash "$entrypoint" "$@" &
    pid=$!
    echo "$pid" >"$prefix.entrypoint-pid"
    wait "$pid"
}

owner() { stat -c %u:%g "$1"; }

if [ "$(id -u)" = 0 ]; then
    echo "== a fresh volume: root-owned, with lost+found and a root-owned file from elsewhere"
    volume="$tmp/fresh"
    mkdir -p "$volume/lost+found"
    : >"$volume/secret.key"
    chmod 0600 "$volume/secret.key"
    chown -R 0:0 "$volume"
    chmod 0755 "$volume"
    UNFURL_DATA_DIR=$volume run_entrypoint "$out/fresh" serve "two words" || fail "the entrypoint exited non-zero (fresh)"
    check "the server's uid:gid" "$uid:$gid" "$(cat "$out/fresh.ids")"
    check "the server's groups (the user's own, none of root's)" "$(id -G "$user")" "$(cat "$out/fresh.groups")"
    check "the server could write to the data directory" yes "$(cat "$out/fresh.wrote")"
    check "the data directory's owner" "$uid:$gid" "$(owner "$volume")"
    check "a file inside, now readable by the server" "$uid:$gid" "$(owner "$volume/secret.key")"
    check "the arguments, passed through whole" "serve|two words|" "$(cat "$out/fresh.args")"
    check "exec: the server has the entrypoint's process id" \
        "$(cat "$out/fresh.entrypoint-pid")" "$(cat "$out/fresh.pid")"

    echo "== a volume already owned by the user is left alone"
    owned="$tmp/owned"
    mkdir -p "$owned"
    chown "$uid:$gid" "$owned"
    : >"$owned/placed-by-root"
    chown 0:0 "$owned/placed-by-root"
    UNFURL_DATA_DIR=$owned run_entrypoint "$out/owned" serve || fail "the entrypoint exited non-zero (owned)"
    check "the server's uid:gid" "$uid:$gid" "$(cat "$out/owned.ids")"
    check "the server could write" yes "$(cat "$out/owned.wrote")"
    check "a root-owned file in an owned directory (no chown ran)" 0:0 "$(owner "$owned/placed-by-root")"

    echo "== a missing data directory is created for the user"
    missing="$tmp/missing/data"
    UNFURL_DATA_DIR=$missing run_entrypoint "$out/missing" serve || fail "the entrypoint exited non-zero (missing)"
    check "the created directory's owner" "$uid:$gid" "$(owner "$missing")"
    check "the server could write" yes "$(cat "$out/missing.wrote")"

    echo "== UNFURL_DATA_DIR unset: the server's default, data/ in the working directory"
    mkdir -p "$tmp/workdir"
    (cd "$tmp/workdir" && unset UNFURL_DATA_DIR && run_entrypoint "$out/default" serve) || fail "default data directory run"
    check "data/'s owner" "$uid:$gid" "$(owner "$tmp/workdir/data")"
    check "the server could write" yes "$(cat "$out/default.wrote")"

    echo "== an unknown user stops the start with one line, running nothing"
    if STUB_OUT="$out/nouser" NOTION_UNFURL_BIN=$stub NOTION_UNFURL_USER=no-such-user-here \
        UNFURL_DATA_DIR="$tmp/nouser" dash "$entrypoint" serve 2>"$tmp/nouser.err"; then
        fail "an unknown user was accepted"
    fi
    grep -q "no user named no-such-user-here" "$tmp/nouser.err" || fail "the unknown user's message: $(cat "$tmp/nouser.err")"
    [ ! -e "$out/nouser.ids" ] || fail "the stub ran for an unknown user"

    echo "== a non-root start just execs: nothing is chowned"
    locked="$tmp/locked"
    mkdir -p "$locked"
    chown 0:0 "$locked"
    chmod 0755 "$locked"
    STUB_OUT="$out/nonroot" NOTION_UNFURL_BIN=$stub UNFURL_DATA_DIR=$locked \
        setpriv --reuid="$uid" --regid="$gid" --clear-groups dash "$entrypoint" serve &
    pid=$!
    wait "$pid" || fail "the non-root entrypoint exited non-zero"
    check "the server's uid:gid" "$uid:$gid" "$(cat "$out/nonroot.ids")"
    check "exec: same process id" "$pid" "$(cat "$out/nonroot.pid")"
    check "the root-owned directory is untouched" 0:0 "$(owner "$locked")"
    check "so the server cannot write there" no "$(cat "$out/nonroot.wrote")"
else
    echo "== not root: only the non-root case runs (a plain exec)"
    mkdir -p "$tmp/data"
    STUB_OUT="$out/nonroot" NOTION_UNFURL_BIN=$stub UNFURL_DATA_DIR="$tmp/data" \
        dash "$entrypoint" serve &
    pid=$!
    wait "$pid" || fail "the entrypoint exited non-zero"
    check "the server's uid:gid" "$(id -u):$(id -g)" "$(cat "$out/nonroot.ids")"
    check "exec: same process id" "$pid" "$(cat "$out/nonroot.pid")"
fi

if [ "$failures" -ne 0 ]; then
    echo "deploy/test-entrypoint.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "deploy/test-entrypoint.sh: all checks passed"
