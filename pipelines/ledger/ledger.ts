import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openWarehouse, type WarehouseHandle } from '../raw/warehouse-connection.ts';
import type { DbtNodeResult } from '../transform/run-results.ts';

/**
 * The run ledger: every run, every step and every dbt node result, including runs that failed and
 * published nothing (so it cannot live only in the published file). It is a DuckDB file beside
 * the warehouse (<stem>.ledger.duckdb), written only by the holder of the run lock, in short
 * open-write-close bursts so `crm status` can read it between them; at publish its tables are
 * also copied into the published warehouse's `ops` schema (ops.pipeline_runs, ...).
 */

export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'interrupted';
export type StepStatus = 'running' | 'succeeded' | 'failed' | 'skipped';

export interface RunRecord {
  runId: string;
  command: string;
  args: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  seconds: number | null;
  pid: number;
  published: boolean;
  error: string | null;
}

export interface StepRecord {
  runId: string;
  stepId: string;
  kind: string;
  status: StepStatus;
  startedAt: string;
  finishedAt: string | null;
  seconds: number | null;
  attempts: number;
  rowsIn: number | null;
  rowsOut: number | null;
  rejects: number | null;
  error: string | null;
  detail: string | null;
}

const DDL = `
CREATE TABLE IF NOT EXISTS runs (
  run_id VARCHAR PRIMARY KEY, command VARCHAR NOT NULL, args VARCHAR NOT NULL, status VARCHAR NOT NULL,
  started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, seconds DOUBLE, pid INTEGER NOT NULL,
  published BOOLEAN NOT NULL DEFAULT false, error VARCHAR);
CREATE TABLE IF NOT EXISTS steps (
  run_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, status VARCHAR NOT NULL,
  started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, seconds DOUBLE, attempts INTEGER NOT NULL DEFAULT 1,
  rows_in BIGINT, rows_out BIGINT, rejects BIGINT, error VARCHAR, detail VARCHAR,
  PRIMARY KEY (run_id, step_id));
CREATE TABLE IF NOT EXISTS dbt_results (
  run_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL, unique_id VARCHAR NOT NULL, resource_type VARCHAR NOT NULL,
  status VARCHAR NOT NULL, seconds DOUBLE, failures BIGINT, rows_affected BIGINT, message VARCHAR,
  PRIMARY KEY (run_id, step_id, unique_id));
`;

const TS = (column: string) => `strftime(${column}, '%Y-%m-%dT%H:%M:%S.%gZ')`;

/** Opens the ledger, retrying briefly while the lock holder has it open for a write. */
async function openLedger(file: string, readOnly: boolean): Promise<WarehouseHandle> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openWarehouse(file, { readOnly });
    } catch (error) {
      if (attempt >= 40 || !/lock|conflicting/i.test(String(error))) throw error;
      await sleep(100);
    }
  }
}

export class RunLedger {
  constructor(readonly file: string) {}

  private async write(work: (connection: DuckDBConnection) => Promise<void>): Promise<void> {
    const ledger = await openLedger(this.file, false);
    try {
      await ledger.connection.run(DDL);
      await work(ledger.connection);
    } finally {
      ledger.close();
    }
  }

  /** Reads the ledger (read-only); an absent ledger reads as empty. */
  async read<T>(work: (connection: DuckDBConnection) => Promise<T>, empty: T): Promise<T> {
    if (!fs.existsSync(this.file)) return empty;
    const ledger = await openLedger(this.file, true);
    try {
      return await work(ledger.connection);
    } finally {
      ledger.close();
    }
  }

  async startRun(run: { runId: string; command: string; args: string[]; pid: number }): Promise<void> {
    await this.write(async (c) => {
      await c.run(
        `INSERT INTO runs (run_id, command, args, status, started_at, pid) VALUES ($1, $2, $3, 'running', now()::TIMESTAMP, $4)`,
        [run.runId, run.command, JSON.stringify(run.args), run.pid],
      );
    });
  }

  async finishRun(runId: string, outcome: { status: RunStatus; published: boolean; error: string | null }): Promise<void> {
    await this.write(async (c) => {
      await c.run(
        `UPDATE runs SET status = $2, published = $3, error = $4, finished_at = now()::TIMESTAMP,
           seconds = epoch(now()::TIMESTAMP - started_at) WHERE run_id = $1`,
        [runId, outcome.status, outcome.published, outcome.error],
      );
    });
  }

  /** Runs left 'running' by a process that died (kill -9, crash): marked interrupted, with their open steps. */
  async markInterrupted(runIds: string[], reason: string): Promise<void> {
    await this.write(async (c) => {
      const ids = runIds.length ? runIds : ['\u0000'];
      const list = ids.map((_, i) => `$${i + 2}`).join(', ');
      await c.run(`UPDATE runs SET status = 'interrupted', error = coalesce(error, $1) WHERE status = 'running' AND run_id IN (${list})`, [
        reason,
        ...ids,
      ]);
      await c.run(`UPDATE steps SET status = 'failed', error = coalesce(error, $1) WHERE status = 'running' AND run_id IN (${list})`, [
        reason,
        ...ids,
      ]);
    });
  }

  /** Ids of runs still marked running (the caller decides whether their process is alive). */
  async runningRuns(): Promise<{ runId: string; pid: number }[]> {
    return this.read(
      async (c) =>
        (await c.runAndReadAll(`SELECT run_id, pid FROM runs WHERE status = 'running'`))
          .getRows()
          .map((r) => ({ runId: String(r[0]), pid: Number(r[1]) })),
      [],
    );
  }

  async startStep(runId: string, step: { stepId: string; kind: string }): Promise<void> {
    await this.write(async (c) => {
      await c.run(
        `INSERT OR REPLACE INTO steps (run_id, step_id, kind, status, started_at) VALUES ($1, $2, $3, 'running', now()::TIMESTAMP)`,
        [runId, step.stepId, step.kind],
      );
    });
  }

  async finishStep(
    runId: string,
    stepId: string,
    outcome: {
      status: StepStatus;
      attempts: number;
      rowsIn?: number | null;
      rowsOut?: number | null;
      rejects?: number | null;
      error?: string | null;
      detail?: unknown;
      dbtResults?: DbtNodeResult[];
    },
  ): Promise<void> {
    await this.write(async (c) => {
      await c.run(
        `UPDATE steps SET status = $3, attempts = $4, rows_in = $5, rows_out = $6, rejects = $7, error = $8, detail = $9,
           finished_at = now()::TIMESTAMP, seconds = epoch(now()::TIMESTAMP - started_at) WHERE run_id = $1 AND step_id = $2`,
        [
          runId,
          stepId,
          outcome.status,
          outcome.attempts,
          outcome.rowsIn ?? null,
          outcome.rowsOut ?? null,
          outcome.rejects ?? null,
          outcome.error ?? null,
          outcome.detail === undefined ? null : JSON.stringify(outcome.detail),
        ],
      );
      for (const r of outcome.dbtResults ?? []) {
        await c.run(`INSERT OR REPLACE INTO dbt_results VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
          runId,
          stepId,
          r.uniqueId,
          r.uniqueId.split('.')[0] ?? 'unknown',
          r.status,
          r.executionSeconds,
          r.failures,
          r.rowsAffected,
          r.message,
        ]);
      }
    });
  }

  async recentRuns(limit: number): Promise<RunRecord[]> {
    return this.read(
      async (c) =>
        (
          await c.runAndReadAll(
            `SELECT run_id, command, args, status, ${TS('started_at')}, ${TS('finished_at')}, seconds, pid, published, error
       FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ${Math.max(1, Math.floor(limit))}`,
          )
        )
          .getRows()
          .map((r) => ({
            runId: String(r[0]),
            command: String(r[1]),
            args: String(r[2]),
            status: String(r[3]) as RunStatus,
            startedAt: String(r[4]),
            finishedAt: r[5] === null ? null : String(r[5]),
            seconds: r[6] === null ? null : Number(r[6]),
            pid: Number(r[7]),
            published: Boolean(r[8]),
            error: r[9] === null ? null : String(r[9]),
          })),
      [],
    );
  }

  async stepsOf(runId: string): Promise<StepRecord[]> {
    return this.read(
      async (c) =>
        (
          await c.runAndReadAll(
            `SELECT run_id, step_id, kind, status, ${TS('started_at')}, ${TS('finished_at')}, seconds, attempts, rows_in, rows_out, rejects, error, detail
       FROM steps WHERE run_id = $1 ORDER BY started_at, step_id`,
            [runId],
          )
        )
          .getRows()
          .map((r) => ({
            runId: String(r[0]),
            stepId: String(r[1]),
            kind: String(r[2]),
            status: String(r[3]) as StepStatus,
            startedAt: String(r[4]),
            finishedAt: r[5] === null ? null : String(r[5]),
            seconds: r[6] === null ? null : Number(r[6]),
            attempts: Number(r[7]),
            rowsIn: r[8] === null ? null : Number(r[8]),
            rowsOut: r[9] === null ? null : Number(r[9]),
            rejects: r[10] === null ? null : Number(r[10]),
            error: r[11] === null ? null : String(r[11]),
            detail: r[12] === null ? null : String(r[12]),
          })),
      [],
    );
  }

  async dbtResultsOf(
    runId: string,
  ): Promise<{ stepId: string; uniqueId: string; status: string; seconds: number; failures: number | null; message: string | null }[]> {
    return this.read(
      async (c) =>
        (
          await c.runAndReadAll(
            `SELECT step_id, unique_id, status, seconds, failures, message FROM dbt_results WHERE run_id = $1 ORDER BY step_id, unique_id`,
            [runId],
          )
        )
          .getRows()
          .map((r) => ({
            stepId: String(r[0]),
            uniqueId: String(r[1]),
            status: String(r[2]),
            seconds: Number(r[3] ?? 0),
            failures: r[4] === null ? null : Number(r[4]),
            message: r[5] === null ? null : String(r[5]),
          })),
      [],
    );
  }

  /** Last successful load of each source: the finish time of its newest succeeded extract step in a published run. */
  async lastSourceLoads(): Promise<Map<string, string>> {
    return this.read(
      async (c) =>
        new Map(
          (
            await c.runAndReadAll(
              `SELECT replace(s.step_id, 'extract:', ''), ${TS('max(s.finished_at)')} FROM steps s JOIN runs r USING (run_id)
       WHERE s.kind = 'extract' AND s.status = 'succeeded' AND r.published GROUP BY 1`,
            )
          )
            .getRows()
            .map((r) => [String(r[0]), String(r[1])]),
        ),
      new Map(),
    );
  }

  /** Last successful build of each dbt model in a published run, by model name. */
  async lastModelBuilds(): Promise<Map<string, string>> {
    return this.read(
      async (c) =>
        new Map(
          (
            await c.runAndReadAll(
              `SELECT split_part(d.unique_id, '.', 3), ${TS('max(coalesce(r.finished_at, s.finished_at))')}
       FROM dbt_results d JOIN steps s USING (run_id, step_id) JOIN runs r USING (run_id)
       WHERE d.resource_type = 'model' AND d.status = 'success' AND r.published GROUP BY 1`,
            )
          )
            .getRows()
            .map((r) => [String(r[0]), String(r[1])]),
        ),
      new Map(),
    );
  }

  /** Copies the ledger into a build's `ops` schema so the published warehouse carries its own history. */
  async mirrorInto(connection: DuckDBConnection): Promise<void> {
    if (!fs.existsSync(this.file)) return;
    await connection.run(`ATTACH '${this.file.replace(/'/g, "''")}' AS run_ledger (READ_ONLY)`);
    try {
      await connection.run('CREATE SCHEMA IF NOT EXISTS ops');
      await connection.run('CREATE OR REPLACE TABLE ops.pipeline_runs AS SELECT * FROM run_ledger.runs');
      await connection.run('CREATE OR REPLACE TABLE ops.pipeline_steps AS SELECT * FROM run_ledger.steps');
      await connection.run('CREATE OR REPLACE TABLE ops.dbt_results AS SELECT * FROM run_ledger.dbt_results');
    } finally {
      await connection.run('DETACH run_ledger');
    }
  }
}
