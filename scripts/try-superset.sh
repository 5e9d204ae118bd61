#!/usr/bin/env bash
# Manual check (not part of npm test: it installs Apache Superset, ~150 Python packages, a few minutes):
# a real Superset 5 against the SQL door, driven through Superset's REST API by scripts/try-superset.py.
#
#   scripts/try-superset.sh [work-dir]      (default /tmp/crm-superset-trial; reuses the venv if present)
#
# 1. a Superset venv outside the repo ($SUPERSET_VENV, default <work-dir>/venv): apache-superset 5.0.0,
#    psycopg2-binary, marshmallow 3.26.1 and marshmallow-sqlalchemy 1.4.2 (Superset 5.0.0 does not pin
#    marshmallow < 4, and with 4.x `superset db upgrade` fails: Field.__init__() ... 'minLength');
# 2. a warehouse (crm generate --customers 300 --orders 2000, crm run), served with --sql-port;
# 3. superset db upgrade / fab create-admin / init / run on 127.0.0.1 (SQLite metadata under work-dir);
# 4. an analyst token and a brand-scoped analyst token (Northpeak), each a Superset database
#    postgresql+psycopg2://<user>:<JWT>@127.0.0.1:<port>/crm; try-superset.py tests the connection,
#    lists schemas and tables, reflects sales_overview, adds it as a dataset, runs a grouped SQL Lab
#    query and three chart-data queries, and compares each answer with /cubejs-api/v1/load.
# Exit 0 when every step passed; the servers started here are stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/crm-superset-trial}
VENV=${SUPERSET_VENV:-$WORK/venv}
API_PORT=${API_PORT:-14000}
SQL_PORT=${SQL_PORT:-15432}
SUPERSET_PORT=${SUPERSET_PORT:-18088}
mkdir -p "$WORK"
export CRM_API_SECRET=${CRM_API_SECRET:-superset-trial-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

if [ ! -x "$VENV/bin/superset" ]; then
  echo "== installing Superset into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q apache-superset==5.0.0 psycopg2-binary==2.9.13
  "$VENV/bin/pip" install -q marshmallow==3.26.1 marshmallow-sqlalchemy==1.4.2
fi
"$VENV/bin/pip" list 2>/dev/null | grep -iE '^(apache-superset|psycopg2-binary|sqlalchemy|marshmallow) '

echo "== warehouse"
cd "$ROOT"
if [ ! -f "$WORK/crm.duckdb" ]; then
  npx tsx cli/crm.ts generate --out "$WORK/landing" --customers 300 --orders 2000 > "$WORK/build.log" 2>&1
  npx tsx cli/crm.ts run --landing "$WORK/landing" --warehouse "$WORK/crm.duckdb" >> "$WORK/build.log" 2>&1
fi
# exec: the recorded pid is tsx's own, so the trap stops the server itself.
bash -c "exec node_modules/.bin/tsx cli/crm.ts serve --warehouse '$WORK/crm.duckdb' --port $API_PORT --sql-port $SQL_PORT" > "$WORK/serve.log" 2>&1 &
pids+=($!)
sign() { npx tsx -e "import('./api/auth.ts').then(async a => console.log(await a.signDevToken(process.env.CRM_API_SECRET, $1, { expiresIn: '12h' })))"; }
TOKEN_ANALYST=$(sign "{ sub: 'superset', roles: ['analyst'] }")
TOKEN_BRAND=$(sign "{ sub: 'superset-northpeak', roles: ['analyst'], brands: ['Northpeak'] }")
for _ in $(seq 60); do grep -q 'SQL door listening' "$WORK/serve.log" && break; sleep 1; done

echo "== Superset"
mkdir -p "$WORK/superset"
# Written once: Superset encrypts the stored connections (their JWTs) with SECRET_KEY, so a rerun keeps it.
[ -f "$WORK/superset/superset_config.py" ] || cat > "$WORK/superset/superset_config.py" <<EOF
SECRET_KEY = "crm-superset-trial-only-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
SQLALCHEMY_DATABASE_URI = "sqlite:///$WORK/superset/superset.db"
WTF_CSRF_ENABLED = False
TALISMAN_ENABLED = False
EOF
export SUPERSET_CONFIG_PATH=$WORK/superset/superset_config.py FLASK_APP=superset SUPERSET_HOME=$WORK/superset
"$VENV/bin/superset" db upgrade > "$WORK/superset/upgrade.log" 2>&1
"$VENV/bin/superset" fab create-admin --username admin --firstname A --lastname D --email admin@example.invalid \
  --password admin-trial > "$WORK/superset/admin.log" 2>&1 || true # exists on a rerun
"$VENV/bin/superset" init > "$WORK/superset/init.log" 2>&1
bash -c "exec '$VENV/bin/superset' run -h 127.0.0.1 -p $SUPERSET_PORT --with-threads" > "$WORK/superset/run.log" 2>&1 &
pids+=($!)
for _ in $(seq 90); do curl -sf "http://127.0.0.1:$SUPERSET_PORT/health" > /dev/null && break; sleep 1; done

echo "== trial"
SUPERSET_URL=http://127.0.0.1:$SUPERSET_PORT CRM_API_URL=http://127.0.0.1:$API_PORT SQL_PORT=$SQL_PORT \
  TOKEN_ANALYST=$TOKEN_ANALYST TOKEN_BRAND=$TOKEN_BRAND "$VENV/bin/python" scripts/try-superset.py
