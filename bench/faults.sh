#!/usr/bin/env bash
# Fault script: the process-level fault tests in their long form, one after another.
#
#   bench/faults.sh
#
# `cargo test` (and so CI) runs the same tests in a short form. Here they run long:
# Notion down for a full minute during an update, twenty seconds of load before the
# `kill -9`. Each test starts the real binary as a child process and asserts that it
# answers afterwards, that nothing it acknowledged is lost, and that its log says what
# happened in one line.
#
# What is covered, and where:
#   tests/api/faults.rs        origin resets mid-body, never answers, one byte a second,
#                              invalid gzip, redirect loop; the SQLite files made
#                              immutable (read-only even for root) and writable again;
#                              Notion down during updates; kill -9 under load, restart
#   tests/api/restart.rs       kill -9 with an update pending and with one in flight
#   tests/api/multi_instance.rs   a kill during a delivery; two servers on one database
#   tests/api/slow_clients.rs  trickling request bodies, connection floods
#   tests/cli.rs               many processes starting together on one fresh directory
# PostgreSQL variants run when UNFURL_TEST_POSTGRES_URL is set (as .ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

export UNFURL_FAULTS_LONG=1
started=$(date +%s)
echo "== tests/api: faults, restart, multi_instance, slow_clients (long form)"
cargo test -p notion-unfurl --test api -- \
  faults:: restart:: multi_instance:: slow_clients:: --test-threads=1 --nocapture
echo "== tests/cli: processes racing on one fresh directory"
cargo test -p notion-unfurl --test cli -- \
  a_server_and_token_commands_started_together_on_a_fresh_directory_all_succeed --nocapture
echo "== all fault tests passed in $(( $(date +%s) - started )) s"
