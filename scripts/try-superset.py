"""Drive a running Apache Superset through its REST API against the SQL door.

Manual check (not part of npm test); scripts/try-superset.sh sets everything up and runs this.
Env: SUPERSET_URL, SUPERSET_USER, SUPERSET_PASSWORD, CRM_API_URL, SQL_PORT, TOKEN_ANALYST, TOKEN_BRAND, BRAND.
Prints one line per step (ok / FAILED with Superset's answer) and a JSON summary; exit 1 if a step failed.
"""
import json
import os
import sys
import urllib.parse
import urllib.request
from decimal import Decimal

SUPERSET = os.environ.get("SUPERSET_URL", "http://127.0.0.1:18088")
CRM_API = os.environ.get("CRM_API_URL", "http://127.0.0.1:14000")
SQL_PORT = os.environ.get("SQL_PORT", "15432")
results = []
session_headers = {}


def call(method, path, body=None, base=SUPERSET, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json", **session_headers, **(headers or {})}
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")[:2000]


_browser = None


def browser_post(path, body):
    """POST as a logged-in browser (form login, session cookie), for Superset's non-API views."""
    global _browser
    import http.cookiejar
    if _browser is None:
        _browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = urllib.parse.urlencode({"username": os.environ.get("SUPERSET_USER", "admin"),
                                       "password": os.environ.get("SUPERSET_PASSWORD", "admin-trial")}).encode()
        _browser.open(urllib.request.Request(SUPERSET + "/login/", data=form, method="POST"), timeout=60).read()
    req = urllib.request.Request(SUPERSET + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with _browser.open(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")[:2000]


def step(name, status, body, ok):
    results.append({"step": name, "ok": bool(ok), "status": status})
    print(("ok      " if ok else "FAILED  ") + f"{name} (HTTP {status})")
    if not ok:
        print("        " + json.dumps(body)[:1500])
    return ok


def _rison(obj):
    # minimal rison for the flat objects Superset's list endpoints take
    if isinstance(obj, dict):
        return "(" + ",".join(f"{k}:{_rison(v)}" for k, v in obj.items()) + ")"
    if isinstance(obj, list):
        return "!(" + ",".join(_rison(v) for v in obj) + ")"
    if isinstance(obj, bool):
        return "!t" if obj else "!f"
    if isinstance(obj, (int, float)):
        return str(obj)
    return "'" + str(obj).replace("!", "!!").replace("'", "!'") + "'"


def find(kind, col, value, opr="eq"):
    st, body = call("GET", f"/api/v1/{kind}/?q=" + urllib.parse.quote(_rison(
        {"filters": [{"col": col, "opr": opr, "value": value}], "page_size": 100})))
    return body.get("result", []) if st == 200 and isinstance(body, dict) else []


def num(v):
    return None if v is None else Decimal(str(v)).quantize(Decimal("0.01"))


def rest_load(token, query):
    st, body = call("POST", "/cubejs-api/v1/load", {"query": query}, base=CRM_API,
                    headers={"Authorization": "Bearer " + token})
    if st != 200:
        raise SystemExit(f"REST /load failed: {st} {body}")
    return body["data"]


def main():
    st, body = call("POST", "/api/v1/security/login", {
        "username": os.environ.get("SUPERSET_USER", "admin"),
        "password": os.environ.get("SUPERSET_PASSWORD", "admin-trial"),
        "provider": "db", "refresh": True})
    if not step("login", st, body, st == 200):
        return finish()
    session_headers["Authorization"] = "Bearer " + body["access_token"]
    st, body = call("GET", "/api/v1/security/csrf_token/")
    if st == 200:
        session_headers["X-CSRFToken"] = body["result"]

    for label, token_env in (("analyst", "TOKEN_ANALYST"), ("brand", "TOKEN_BRAND")):
        token = os.environ[token_env]
        uri = f"postgresql+psycopg2://{label}:{token}@127.0.0.1:{SQL_PORT}/crm"
        st, body = call("POST", "/api/v1/database/test_connection/", {
            "database_name": f"crm-{label}", "sqlalchemy_uri": uri, "configuration_method": "sqlalchemy_form"})
        step(f"{label}: test_connection", st, body, st == 200)
        # a rerun against the same Superset: drop what the last run added, then add it again
        for old in find("database", "database_name", f"crm-{label}"):
            for ds in find("dataset", "database", old["id"], opr="rel_o_m"):
                call("DELETE", f"/api/v1/dataset/{ds['id']}")
            call("DELETE", f"/api/v1/database/{old['id']}")
        st, body = call("POST", "/api/v1/database/", {
            "database_name": f"crm-{label}", "sqlalchemy_uri": uri, "expose_in_sqllab": True,
            "allow_dml": False, "configuration_method": "sqlalchemy_form"})
        if not step(f"{label}: create database", st, body, st == 201):
            continue
        db_id = body["id"]
        st, body = call("GET", f"/api/v1/database/{db_id}/schemas/")
        step(f"{label}: list schemas -> {body.get('result') if isinstance(body, dict) else body}", st, body,
             st == 200 and "public" in body.get("result", []))
        st, body = call("GET", f"/api/v1/database/{db_id}/tables/?q=" + urllib.parse.quote(_rison({"schema_name": "public", "force": True})))
        names = sorted(t["value"] for t in body.get("result", [])) if isinstance(body, dict) else []
        step(f"{label}: list tables ({len(names)}: {', '.join(names)})", st, body, st == 200 and "sales_overview" in names)
        st, body = call("GET", f"/api/v1/database/{db_id}/table_metadata/?name=sales_overview&schema=public")
        cols = [c["name"] for c in body.get("columns", [])] if isinstance(body, dict) else []
        step(f"{label}: table_metadata sales_overview ({len(cols)} columns)", st, body, st == 200 and "revenue" in cols)

        # Superset's SQLite metadata DB keeps a UNIQUE (table_name) on its datasets from an old migration:
        # one sales_overview dataset per Superset, whichever database it is on (not so on Postgres/MySQL metadata)
        for ds in find("dataset", "table_name", "sales_overview"):
            call("DELETE", f"/api/v1/dataset/{ds['id']}")
        if "customer_contacts" in names:
            st, body = call("GET", f"/api/v1/database/{db_id}/table_metadata/?name=customer_contacts&schema=public")
            contact_cols = [c["name"] for c in body.get("columns", [])] if isinstance(body, dict) else []
            step(f"{label}: customer_contacts columns have no raw email/phone ({', '.join(c for c in contact_cols if 'email' in c or 'phone' in c)})",
                 st, body, st == 200 and contact_cols and "email" not in contact_cols and "phone" not in contact_cols)
        st, body = call("POST", "/api/v1/dataset/", {"database": db_id, "schema": "public", "table_name": "sales_overview"})
        if not step(f"{label}: create dataset sales_overview", st, body, st == 201):
            continue
        ds_id = body["id"]
        st, body = call("GET", f"/api/v1/dataset/{ds_id}")
        ds_cols = {c["column_name"]: c for c in body["result"]["columns"]} if st == 200 else {}
        step(f"{label}: dataset columns reflected ({len(ds_cols)}; ordered_at is_dttm={ds_cols.get('ordered_at', {}).get('is_dttm')})",
             st, body, st == 200 and "revenue" in ds_cols and ds_cols.get("ordered_at", {}).get("is_dttm"))

        rest = {r["sales_overview.primary_brand"]: num(r["sales_overview.revenue"])
                for r in rest_load(token, {"dimensions": ["sales_overview.primary_brand"], "measures": ["sales_overview.revenue"]})}
        print(f"        REST /load revenue by brand: {json.dumps({k: str(v) for k, v in rest.items()})}")

        sql = "SELECT primary_brand, MEASURE(revenue) AS revenue, COUNT(*) AS orders FROM sales_overview GROUP BY 1 ORDER BY 2 DESC"
        st, body = call("POST", "/api/v1/sqllab/execute/", {"database_id": db_id, "sql": sql, "schema": "public",
                                                            "runAsync": False, "queryLimit": 1000, "client_id": f"c{label}{ds_id}"[:10]})
        lab = {r["primary_brand"]: num(r["revenue"]) for r in body.get("data", [])} if isinstance(body, dict) else {}
        step(f"{label}: SQL Lab grouped query ({len(lab)} rows) equals REST", st, body, st == 200 and lab == rest and lab)

        st, body = call("POST", "/api/v1/sqllab/execute/", {"database_id": db_id, "sql": "SELECT * FROM sales_overview",
                                                            "schema": "public", "runAsync": False, "client_id": f"s{label}{ds_id}"[:10]})
        step(f"{label}: SQL Lab SELECT * (expected refusal 0A000): {str(body)[:160]}", st, body, st != 200)

        chart = {"datasource": {"id": ds_id, "type": "table"}, "force": True, "result_format": "json", "result_type": "full",
                 "queries": [{"columns": ["primary_brand"], "metrics": [
                     {"expressionType": "SQL", "sqlExpression": "MEASURE(revenue)", "label": "revenue"}],
                     "orderby": [[{"expressionType": "SQL", "sqlExpression": "MEASURE(revenue)", "label": "revenue"}, False]],
                     "row_limit": 100, "filters": []}]}
        st, body = call("POST", "/api/v1/chart/data", chart)
        rows = body["result"][0]["data"] if st == 200 else []
        got = {r["primary_brand"]: num(r["revenue"]) for r in rows}
        step(f"{label}: chart data, custom-SQL metric MEASURE(revenue) by brand, equals REST", st, body, st == 200 and got == rest)
        if st == 200:
            print("        SQL: " + body["result"][0].get("query", "").replace("\n", " ")[:400])

        chart2 = {"datasource": {"id": ds_id, "type": "table"}, "force": True, "result_format": "json", "result_type": "full",
                  "queries": [{"columns": ["primary_brand"], "metrics": [
                      {"expressionType": "SIMPLE", "column": {"column_name": "revenue"}, "aggregate": "SUM", "label": "SUM(revenue)"}, "count"],
                      "row_limit": 100, "filters": [], "orderby": []}]}
        st, body = call("POST", "/api/v1/chart/data", chart2)
        rows = body["result"][0]["data"] if st == 200 else []
        got = {r["primary_brand"]: num(r["SUM(revenue)"]) for r in rows}
        step(f"{label}: chart data, simple SUM(revenue) + built-in COUNT(*) metric, equals REST", st, body, st == 200 and got == rest)

        # a chart with an adhoc filter (WHERE primary_brand IN (...)), as a filter box / native filter sends it
        chart_f = {"datasource": {"id": ds_id, "type": "table"}, "force": True, "result_format": "json", "result_type": "full",
                   "queries": [{"columns": ["order_status"], "metrics": ["count"], "row_limit": 100, "orderby": [],
                                "filters": [{"col": "primary_brand", "op": "IN", "val": ["Northpeak"]}]}]}
        st, body = call("POST", "/api/v1/chart/data", chart_f)
        rows = body["result"][0]["data"] if st == 200 else []
        got = {r["order_status"]: int(r["count"]) for r in rows}
        rest_f = {r["sales_overview.order_status"]: int(r["sales_overview.count"])
                  for r in rest_load(token, {"dimensions": ["sales_overview.order_status"], "measures": ["sales_overview.count"],
                                             "filters": [{"member": "sales_overview.primary_brand", "operator": "equals", "values": ["Northpeak"]}]})}
        step(f"{label}: chart data with a filter primary_brand IN ('Northpeak'), orders by status, equals REST", st, body, st == 200 and got == rest_f and got)
        # the values a native filter offers (SELECT DISTINCT column ... LIMIT)
        st, body = call("GET", f"/api/v1/datasource/table/{ds_id}/column/primary_brand/values/")
        values = sorted(v for v in body.get("result", []) if v is not None) if isinstance(body, dict) else []
        step(f"{label}: filter values of primary_brand ({values}) equal REST's brands", st, body, st == 200 and values == sorted(rest))
        # Explore's "samples" pane reads rows (SELECT * ... LIMIT): the layer has no row-level reads, refused
        # (a browser-session endpoint: it takes the login cookie, not the API's bearer token)
        st, body = browser_post(f"/datasource/samples?datasource_id={ds_id}&datasource_type=table&force=true", {})
        step(f"{label}: Explore samples (expected refusal: no row-level reads): {str(body)[:200]}", st, body, st in (400, 422, 500))
        rest_m = {r["sales_overview.ordered_at.month"][:7]: num(r["sales_overview.revenue"])
                  for r in rest_load(token, {"measures": ["sales_overview.revenue"],
                                             "timeDimensions": [{"dimension": "sales_overview.ordered_at", "granularity": "month",
                                                                 "dateRange": ["2025-01-01", "2025-12-31"]}]})}
        chart3 = {"datasource": {"id": ds_id, "type": "table"}, "force": True, "result_format": "json", "result_type": "full",
                  "queries": [{"columns": [{"label": "ordered_at", "sqlExpression": "ordered_at", "columnType": "BASE_AXIS",
                                            "timeGrain": "P1M", "expressionType": "SQL"}],
                               "metrics": [{"expressionType": "SQL", "sqlExpression": "MEASURE(revenue)", "label": "revenue"}],
                               "time_range": "2025-01-01 : 2026-01-01", "granularity": "ordered_at",
                               "row_limit": 1000, "filters": [], "orderby": []}]}
        st, body = call("POST", "/api/v1/chart/data", chart3)
        rows = body["result"][0]["data"] if st == 200 else []
        import datetime
        got = {}
        for r in rows:
            t = r["ordered_at"]
            key = datetime.datetime.utcfromtimestamp(t / 1000).strftime("%Y-%m") if isinstance(t, (int, float)) else str(t)[:7]
            got[key] = num(r["revenue"])
        step(f"{label}: chart data, monthly time series 2025 (P1M grain, {len(got)} months) equals REST", st, body,
             st == 200 and got == rest_m and got)
        if st == 200:
            print("        SQL: " + body["result"][0].get("query", "").replace("\n", " ")[:400])

        # time comparison ("1 year ago"): Superset sends a second query over the shifted range
        rest_prev = {str(int(k[:4]) + 1) + k[4:7]: num(r["sales_overview.revenue"])
                     for r in rest_load(token, {"measures": ["sales_overview.revenue"],
                                                "timeDimensions": [{"dimension": "sales_overview.ordered_at", "granularity": "month",
                                                                    "dateRange": ["2024-01-01", "2024-12-31"]}]})
                     for k in [r["sales_overview.ordered_at.month"]]}
        chart4 = json.loads(json.dumps(chart3))
        chart4["queries"][0]["time_offsets"] = ["1 year ago"]
        st, body = call("POST", "/api/v1/chart/data", chart4)
        rows = body["result"][0]["data"] if st == 200 else []
        got = {datetime.datetime.utcfromtimestamp(r["ordered_at"] / 1000).strftime("%Y-%m"): num(r.get("revenue__1 year ago"))
               for r in rows}
        got = {k: v for k, v in got.items() if v is not None}
        step(f"{label}: chart data, time comparison '1 year ago' ({len(got)} months of 2024) equals REST", st, body,
             st == 200 and got == rest_prev)

        # a custom SQL WHERE naming a segment, and a row limit above the layer's 50,000 (refused, 54000)
        chart5 = {**chart_f, "queries": [{**chart_f["queries"][0], "filters": [], "extras": {"where": "valid_sales"}}]}
        st, body = call("POST", "/api/v1/chart/data", chart5)
        got = {r["order_status"]: int(r["count"]) for r in (body["result"][0]["data"] if st == 200 else [])}
        rest_s = {r["sales_overview.order_status"]: int(r["sales_overview.count"])
                  for r in rest_load(token, {"dimensions": ["sales_overview.order_status"], "measures": ["sales_overview.count"],
                                             "segments": ["sales_overview.valid_sales"]})}
        step(f"{label}: chart data with custom WHERE valid_sales (a segment) equals REST", st, body, st == 200 and got == rest_s and got)
        chart6 = {**chart, "queries": [{**chart["queries"][0], "row_limit": 100000}]}
        st, body = call("POST", "/api/v1/chart/data", chart6)
        step(f"{label}: chart row limit 100000 (expected refusal): {str(body)[:120]}", st, body, st == 400 and "50000" in str(body))
    finish()


def finish():
    failed = [r for r in results if not r["ok"]]
    print(json.dumps({"steps": len(results), "failed": len(failed)}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
