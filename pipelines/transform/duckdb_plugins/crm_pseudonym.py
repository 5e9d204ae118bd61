"""dbt-duckdb plugin: the scalar function crm_pseudonym(VARCHAR) -> VARCHAR on dbt's connection.

crm_pseudonym(value) is HMAC-SHA-256(key, UTF-8 bytes of value) as lowercase hex; null in, null
out. The key is the deployment secret in the environment variable CRM_PSEUDONYM_KEY (its text,
surrounding whitespace stripped, at least 32 bytes), which pipelines/transform/dbt-cli.ts resolves
(pipelines/transform/pseudonym-key.ts) and hands to dbt. It is read here, in dbt's Python process,
when dbt opens its DuckDB connection, and lives only in this function's closure: no SQL text ever
holds it, so it cannot land in target/compiled, target/run, dbt's logs or the warehouse file.
DuckDB has neither an HMAC function nor getenv; a SQL-level HMAC would need the key in the SQL.

Wired in profiles.yml (module_paths + plugins). Only table and incremental models may call it
(macro pseudonym() in macros/contact_points.sql): the API's and Cube's DuckDB connections do not
have the function, so a view calling it could not be read outside dbt. See docs/pseudonyms.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Callable, Mapping

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

KEY_ENV = "CRM_PSEUDONYM_KEY"
MIN_KEY_BYTES = 32
FUNCTION_NAME = "crm_pseudonym"


class PseudonymKeyError(DbtRuntimeError):
    """The key is missing or too short; the message never contains the key."""


def load_key(environ: Mapping[str, str] = os.environ) -> bytes:
    """The HMAC key from CRM_PSEUDONYM_KEY, or PseudonymKeyError saying what to set."""
    text = (environ.get(KEY_ENV) or "").strip()
    if not text:
        raise PseudonymKeyError(
            f"{KEY_ENV} is not set: dbt's {FUNCTION_NAME}() (dim_customers' email_pseudonym and "
            f"phone_pseudonym) needs the deployment's pseudonym key. Run dbt through the crm CLI "
            f"(it resolves the key: {KEY_ENV}, CRM_PSEUDONYM_KEY_FILE, or a generated development "
            f"key), or set {KEY_ENV} to a secret of at least {MIN_KEY_BYTES} bytes, e.g. the output "
            f"of `openssl rand -hex 32`. See docs/pseudonyms.md."
        )
    key = text.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"{KEY_ENV} is {len(key)} bytes long; the pseudonym key must be at least {MIN_KEY_BYTES} "
            f"bytes (generate one with `openssl rand -hex 32`). See docs/pseudonyms.md."
        )
    return key


def pseudonymizer(key: bytes) -> Callable[[str | None], str | None]:
    """HMAC-SHA-256 of one value under the key, lowercase hex; None stays None."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)  # key schedule once; copy() per value

    def pseudonym(value: str | None) -> str | None:
        if value is None:
            return None
        mac = keyed.copy()
        mac.update(value.encode("utf-8"))
        return mac.hexdigest()

    return pseudonym


def arrow_udf(key: bytes):
    """The vectorised form DuckDB calls with a whole vector (pyarrow array) at a time."""
    import pyarrow as pa

    one = pseudonymizer(key)

    def crm_pseudonym(values):
        return pa.array([one(v) for v in values.to_pylist()], type=pa.string())

    return crm_pseudonym


class Plugin(BasePlugin):
    def configure_connection(self, conn):
        key = load_key()
        # Default null handling: DuckDB passes only non-null values and returns null for null input.
        conn.create_function(
            FUNCTION_NAME,
            arrow_udf(key),
            ["VARCHAR"],
            "VARCHAR",
            type="arrow",
            side_effects=False,
        )
