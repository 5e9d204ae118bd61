"""dbt for the DuckDB target: dbt's own CLI, or a session of several dbt commands in one process.

Two changes to plain `dbt`, both for speed (docs/performance.md, "dbt"):

1. Partial parsing survives from run to run. dbt reparses the whole project when the hash of the
   profile's connection keys changes, and dbt-duckdb counts the database `path` among them. Every
   run builds in its own copy of the warehouse (a path of its own), so every run reparsed in full.
   Here the `path` is left out of that hash, and only there. That is safe in this project because
   no model, macro or test reads `target.path`: the path can change how dbt connects, never what it
   parses (tests/e2e/dbt-session.test.ts fails if a model starts reading it). The copy has the
   published file's name, so the database name dbt derives from it stays the same.

2. `--session`: a process that runs several dbt commands, one JSON line each on stdin
   ({"args": [...]}) with dbt's programmatic entry point (dbtRunner). The first command parses the
   project; later commands with the same --vars and --target reuse that manifest, so a run's
   second `dbt build` (after the CLV scoring step) skips Python's start-up, dbt's imports and the
   parse. dbt's JSON log lines go to stdout as the CLI writes them; after each command one line
   {"crm_dbt_session": {"exit": N}} follows, with dbt's exit code (0 success, 1 a node failed,
   2 dbt could not run). Between commands the DuckDB file is closed, so another process (the CLV
   scorer) can open it for writing. When stdin closes the process exits at once, even in the middle
   of a command: a parent that was killed leaves no dbt behind still writing into its build copy.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import sys
import threading


def keep_partial_parse_across_paths() -> None:
    """Leave the DuckDB `path` out of the profile hash dbt's partial parsing compares (see above)."""
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.parser.manifest import ManifestLoader

    original = ManifestLoader.build_manifest_state_check

    def build_manifest_state_check(self):
        keys = DuckDBCredentials._connection_keys

        def without_path(credentials):
            return tuple(key for key in keys(credentials) if key != "path")

        DuckDBCredentials._connection_keys = without_path
        try:
            return original(self)
        finally:
            DuckDBCredentials._connection_keys = keys

    ManifestLoader.build_manifest_state_check = build_manifest_state_check


def option(args: list[str], name: str) -> str | None:
    """The value of a dbt option in an argument list (`--vars '{...}'`), or None."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1 :]
    return None


def session() -> None:
    import dbt.cli.requires as requires
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    parsed: dict[str, object] = {}
    original_parse = requires.parse_manifest

    def parse_manifest(*args, **kwargs):
        manifest = original_parse(*args, **kwargs)
        parsed["manifest"] = manifest
        return manifest

    requires.parse_manifest = parse_manifest

    commands: queue.Queue[dict] = queue.Queue()

    def read_commands() -> None:
        for line in sys.stdin:
            line = line.strip()
            if line:
                commands.put(json.loads(line))
        # stdin closed: the parent is done with us, or it died. Either way nothing may keep running.
        sys.stdout.flush()
        os._exit(0)

    threading.Thread(target=read_commands, name="crm-dbt-stdin", daemon=True).start()
    manifest = None
    manifest_key: tuple[str | None, str | None] | None = None
    while True:
        command = commands.get()
        args = [str(arg) for arg in command["args"]]
        key = (option(args, "--vars"), option(args, "--target"))
        if key != manifest_key:
            manifest = None
        parsed.pop("manifest", None)
        exit_code = 2
        try:
            result = dbtRunner(manifest=manifest).invoke(args)
            exit_code = 0 if result.success else (2 if result.exception is not None else 1)
            if manifest is None and "manifest" in parsed and exit_code != 2:
                manifest, manifest_key = parsed["manifest"], key
        except BaseException as error:  # dbt failed outside its own handling: report, keep serving
            print(json.dumps({"crm_dbt_session": {"exit": 2, "error": repr(error)}}), flush=True)
            exit_code = -1
        finally:
            # dbt-duckdb keeps its connection for the life of the process (closed at exit); close it
            # so the file is free for the next step's writer.
            DuckDBConnectionManager.close_all_connections()
            gc.collect()
        if exit_code >= 0:
            print(json.dumps({"crm_dbt_session": {"exit": exit_code}}), flush=True)


if __name__ == "__main__":
    keep_partial_parse_across_paths()
    if sys.argv[1:] == ["--session"]:
        session()
    else:
        from dbt.cli.main import cli

        cli(prog_name="dbt")
