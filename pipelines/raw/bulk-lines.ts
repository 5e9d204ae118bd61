import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Line numbers of rows the bulk path staged. DuckDB inserts a file's records into the stage in
 * file order (preserve_insertion_order), so a record's line is its stage rowid plus an offset that
 * only changes where the file has blank lines, multi-line records or broken records (the scan's
 * `events`). The stage keeps `_source_line` NULL for those rows and this mapping computes it on the
 * way out, instead of a second pass that writes every row again. Row-path rows carry their line.
 */
export class StageLines {
  /** line = rowid + adj for rowids >= from (until the next run); ascending by from. */
  private readonly runs: { from: bigint; adj: bigint }[] = [];

  /**
   * A file's records occupy stage rowids first..first+count-1 in record order. `events` are the
   * scan's (index, line - index) changes, `firstIndex` the index of the first staged record (1 for
   * CSV, whose scan counts records from 1; 0 for NDJSON, which counts rows from 0).
   */
  addFile(first: bigint, events: readonly [number, number][], firstIndex: number): void {
    const list = events.length > 0 ? events : [[firstIndex, 1] as [number, number]];
    for (const [index, delta] of list) {
      const from = first + BigInt(index - firstIndex);
      this.runs.push({ from, adj: BigInt(index + delta) - from });
    }
    this.runs.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  }

  /** Beyond this many runs a CASE gets slow: the runs go to a temp table and an ASOF join. */
  private static readonly INLINE = 64;

  /**
   * SQL for the line of each row of `alias` (a stage table): `join` to append after `FROM stage AS
   * alias` and `line`, the expression. Call prepare() first when the runs may be many.
   */
  sql(alias: string): { join: string; line: string } {
    if (this.runs.length === 0) return { join: '', line: `${alias}._source_line` };
    if (this.runs.length > StageLines.INLINE) {
      return {
        join: ` ASOF LEFT JOIN temp.main._stage_lines AS _l ON ${alias}.rowid >= _l."from"`,
        line: `coalesce(${alias}._source_line, ${alias}.rowid + _l.adj)`,
      };
    }
    const cases = [...this.runs].reverse().map((r) => `WHEN ${alias}.rowid >= ${r.from} THEN ${alias}.rowid + (${r.adj})`);
    return { join: '', line: `coalesce(${alias}._source_line, CASE ${cases.join(' ')} END)` };
  }

  /** Writes the runs to temp.main._stage_lines when sql() will join them. */
  async prepare(connection: DuckDBConnection): Promise<void> {
    if (this.runs.length <= StageLines.INLINE) return;
    await connection.run('CREATE OR REPLACE TEMP TABLE _stage_lines ("from" BIGINT, adj BIGINT)');
    const appender = await connection.createAppender('_stage_lines', 'main', 'temp');
    try {
      for (const run of this.runs) {
        appender.appendBigInt(run.from);
        appender.appendBigInt(run.adj);
        appender.endRow();
      }
    } finally {
      appender.closeSync();
    }
  }
}
