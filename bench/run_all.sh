#!/usr/bin/env bash
# Every benchmark, in the order bench/README.md lists them, on PostgreSQL and Redis.
#   DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test bash bench/run_all.sh [--quick]
# --quick shortens the long ones (minutes instead of ~half an hour). Output: bench/results-<date>.txt
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server (the benches make scratch databases there)}"
PY=.venv/bin/python
QUICK=${1:-}
OUT="bench/results-$(date -u +%Y%m%dT%H%M%SZ).txt"
run() {
  echo "== $*" | tee -a "$OUT"
  "$@" 2>&1 | tee -a "$OUT"
}
run "$PY" bench/startup.py --runs 5
run "$PY" bench/session_tokens.py --seconds 3
run "$PY" bench/media.py --runs 3
if [[ "$QUICK" == "--quick" ]]; then
  run "$PY" bench/import_contacts.py --rows 20000
  run "$PY" bench/webhooks.py --seconds 3
  run "$PY" bench/dlr.py --seconds 3
  run "$PY" bench/send.py --sizes 10000 --batch 500 --limited 0
  run "$PY" bench/reports.py --messages 100000 --runs 20
  run "$PY" bench/lists.py --contacts 20000 --messages 100000 --campaigns 200 --runs 50
else
  run "$PY" bench/import_contacts.py --rows 100000
  run "$PY" bench/webhooks.py
  run "$PY" bench/dlr.py
  run "$PY" bench/send.py --sizes 10000,100000 --batch 500,2000
  run "$PY" bench/send.py --sizes 1000000 --launch-only --limited 0
  run "$PY" bench/reports.py --messages 1000000 --runs 50
  run "$PY" bench/lists.py
fi
echo "figures in $OUT"
