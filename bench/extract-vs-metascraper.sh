#!/usr/bin/env bash
# Metadata extraction throughput: notion-unfurl's OpenGraph extractor against metascraper
# 5.x on the same pages (../shared/corpus by default), each in one process, side by side.
#
#   bench/extract-vs-metascraper.sh [CORPUS_DIR] [ROUNDS] [METASCRAPER_ROUNDS]
#
# ROUNDS (default 5) passes over the corpus for ours, METASCRAPER_ROUNDS (default 1) for
# metascraper, which takes about a hundred times longer per pass.
# Ours: the `corpus_report` example of notion-unfurl-opengraph (release build), which reads
# every page first and then times the extraction alone. Theirs: metascraper with the
# title, description, image, url, publisher, author, date, logo and lang rules, installed
# from npm into a temporary folder outside the repository (Node >= 20), timed the same way.
# Prints pages/s and MB/s for both and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

corpus="$(realpath "${1:-../shared/corpus}")"
rounds="${2:-5}"
ms_rounds="${3:-1}"
work="${METASCRAPER_DIR:-${TMPDIR:-/tmp}/notion-unfurl-metascraper}"

cargo build --release --quiet -p notion-unfurl-opengraph --example corpus_report
ours=$(target/release/examples/corpus_report "$corpus" "$rounds" 2>&1 >/dev/null | tail -1)

mkdir -p "$work"
if [ ! -d "$work/node_modules/metascraper" ]; then
  (cd "$work" && npm install --no-audit --no-fund --silent \
    metascraper@5 metascraper-title@5 metascraper-description@5 metascraper-image@5 \
    metascraper-url@5 metascraper-publisher@5 metascraper-author@5 metascraper-date@5 \
    metascraper-logo@5 metascraper-lang@5)
fi
cat > "$work/bench.mjs" <<'JS'
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'
const require = createRequire(join(process.cwd(), 'package.json'))
const metascraper = require('metascraper')([
  'title', 'description', 'image', 'url', 'publisher', 'author', 'date', 'logo', 'lang'
].map(rule => require(`metascraper-${rule}`)()))
const [dir, rounds] = [process.argv[2], Number(process.argv[3] || 1)]
const cases = readdirSync(dir)
  .filter(c => existsSync(join(dir, c, 'page.html')) && existsSync(join(dir, c, 'meta.json')))
  .map(c => ({
    url: JSON.parse(readFileSync(join(dir, c, 'meta.json'), 'utf8')).url,
    html: readFileSync(join(dir, c, 'page.html'), 'utf8')
  }))
const bytes = cases.reduce((n, c) => n + Buffer.byteLength(c.html), 0)
const started = process.hrtime.bigint()
for (let round = 0; round < rounds; round++) {
  for (const c of cases) await metascraper({ url: c.url, html: c.html })
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9
const pages = cases.length * rounds
console.log(`metascraper: ${cases.length} pages x ${rounds} in ${seconds.toFixed(3)} s: ` +
  `${(pages / seconds).toFixed(0)} pages/s, ${(bytes * rounds / 1e6 / seconds).toFixed(1)} MB/s`)
JS
theirs=$(cd "$work" && node bench.mjs "$corpus" "$ms_rounds" | tail -1)

echo "$ours"
echo "$theirs"
rate() { sed -E 's/.* ([0-9.]+) pages\/s.*/\1/' <<<"$1"; }
awk -v a="$(rate "$ours")" -v b="$(rate "$theirs")" \
  'BEGIN { printf "ratio: %.1fx metascraper pages/s\n", a / b }'
