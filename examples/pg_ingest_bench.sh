#!/usr/bin/env bash
# Ingest throughput into SQLite and PostgreSQL, measured in the same run: 40 JUnit files of
# 5,000 testcases (200,000 testcases, 1 % failing, tagged names), one `coalmine ingest` process
# per run, one after the other and 4 at once, into a fresh SQLite file and a fresh database.
#
#   cargo build --release --bin coalmine
#   bash examples/pg_ingest_bench.sh "$COALMINE_TEST_POSTGRES_URL"   # a URL of database postgres
#
# More URLs of the same server (say, over TCP with and without TLS) are measured in turn, after
# SQLite, into the same fresh database, each as postgres[N] (N from 1, in the order given).
set -euo pipefail
server="$1"
servers=("$@")
binary="$(cd "$(dirname "$0")/.." && pwd)/target/release/coalmine"
work="$(mktemp -d /tmp/pg-ingest-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import random, sys
random.seed(5)
for run in range(40):
    parts = ['<testsuite name="e2e">']
    for t in range(5000):
        name = f"[sig-compute] suite {t//100:03d} should keep workload {t%100} running"
        if random.random() < 0.01:
            parts.append(f'<testcase classname="e2e" name="{name}" time="1.5"><failure message="timed out">trace {run}</failure></testcase>')
        else:
            parts.append(f'<testcase classname="e2e" name="{name}" time="0.25"/>')
    parts.append('</testsuite>')
    open(f'{sys.argv[1]}/run{run:02d}.xml', 'w').write(''.join(parts))
PY
one() {
    local n; n=$(basename "$2" .xml | tr -dc 0-9)
    "$binary" ingest --history "$1" --lane e2e --kind periodic --commit "c$n" \
        --at "$(printf '2026-11-%02dT10:00:00Z' $((1 + 10#$n % 28)))" "$2" >/dev/null
}
export -f one; export binary
for round in 1 2 3; do
    for mode in sequential 4-at-once; do
        rm -f "$work"/h.db*
        psql "$server" -qc "DROP DATABASE IF EXISTS coalmine_ingest_bench WITH (FORCE)" \
            -c "CREATE DATABASE coalmine_ingest_bench" 2>/dev/null
        targets=("$work/h.db")
        for each in "${servers[@]}"; do
            targets+=("$(printf '%s' "$each" | sed "s#/postgres\([?]\|$\)#/coalmine_ingest_bench\1#")")
        done
        index=0
        for target in "${targets[@]}"; do
            if [ "$index" -gt 1 ]; then
                psql "$server" -qc "DROP DATABASE IF EXISTS coalmine_ingest_bench WITH (FORCE)" \
                    -c "CREATE DATABASE coalmine_ingest_bench" 2>/dev/null
            fi
            start=$(date +%s.%N)
            if [ "$mode" = sequential ]; then
                for file in "$work"/run*.xml; do one "$target" "$file"; done
            else
                ls "$work"/run*.xml | xargs -P4 -I{} bash -c 'one "$0" "$1"' "$target" {}
            fi
            seconds=$(echo "$(date +%s.%N) - $start" | bc)
            backend=$([ "$index" = 0 ] && echo sqlite || echo "postgres[$index]")
            index=$((index + 1))
            printf 'round %s, %s, %s: %.2f s, %d testcases/s\n' "$round" "$mode" "$backend" \
                "$seconds" "$(echo "200000 / $seconds" | bc)"
        done
    done
done
psql "$server" -qc "DROP DATABASE IF EXISTS coalmine_ingest_bench WITH (FORCE)"
