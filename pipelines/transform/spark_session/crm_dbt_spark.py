"""dbt's command line for the Spark target (`method: session`), with crm_pseudonym registered.

Runs exactly like `dbt` (same arguments, same exit codes), in .venv-spark. The only addition: the
first time dbt-spark asks for its SparkSession (SparkSession.builder...getOrCreate() in
dbt/adapters/spark/session.py), the scalar function crm_pseudonym(string) -> string is registered
on it, the Spark twin of the dbt-duckdb plugin pipelines/transform/duckdb_plugins/crm_pseudonym.py:
HMAC-SHA-256 under CRM_PSEUDONYM_KEY (stripped, at least 32 bytes) of the UTF-8 bytes, lowercase
hex; null stays null. The key is read here from dbt's environment and lives only in the function's
closure (and the Python workers Spark starts for it on this machine): no SQL text holds it, so it
never lands in target/, dbt's logs or a table. Spark has no HMAC function; one written in SQL over
sha2 would need the key in the SQL. Both implementations must give the same hex (the comparison
test tests/e2e/spark-equal-answers.test.ts compares dim_customers' pseudonyms row by row).
See docs/spark.md and docs/pseudonyms.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys

KEY_ENV = "CRM_PSEUDONYM_KEY"
MIN_KEY_BYTES = 32
FUNCTION_NAME = "crm_pseudonym"


def load_key() -> bytes:
    text = (os.environ.get(KEY_ENV) or "").strip()
    key = text.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        # Never prints the key. The crm CLI always sets one (pipelines/transform/pseudonym-key.ts).
        raise SystemExit(
            f"{KEY_ENV} is {'not set' if not key else f'{len(key)} bytes long'}: dbt's {FUNCTION_NAME}() needs "
            f"the deployment's pseudonym key of at least {MIN_KEY_BYTES} bytes. See docs/pseudonyms.md."
        )
    return key


def pseudonymizer(key: bytes):
    # Only the key bytes are captured: Spark pickles the function to its Python workers.
    def crm_pseudonym(value):
        if value is None:
            return None
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    return crm_pseudonym


def install() -> None:
    key = load_key()
    # Spark's Python workers run this interpreter (the venv's), which has pyspark.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    original = SparkSession.Builder.getOrCreate
    registered: set[int] = set()

    def get_or_create(self):
        session = original(self)
        if id(session) not in registered:
            session.udf.register(FUNCTION_NAME, pseudonymizer(key), "string")
            registered.add(id(session))
        return session

    SparkSession.Builder.getOrCreate = get_or_create


if __name__ == "__main__":
    install()
    from dbt.cli.main import cli

    cli(prog_name="dbt")
