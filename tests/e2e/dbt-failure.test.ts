import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { SOURCES } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { DbtFailedError, runDbt } from '../../pipelines/transform/dbt-cli.ts';

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-dbtfail-'));
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

describe('dbt through the venv CLI', () => {
  it("fails with dbt's own text naming the failing test when data breaks a test", async () => {
    const landingDir = path.join(workDir, 'landing');
    const warehousePath = path.join(workDir, 'wh.duckdb');
    await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, customers: 30, orders: 200, malformedRate: 0 });
    for (const source of SOURCES) await extractSource(source, { warehousePath, landingDir, batchId: `t:${source.name}` });
    // Bypass the extractor's validation to put a rating dbt's test must catch.
    const warehouse = await openWarehouse(warehousePath);
    await warehouse.connection.run(
      `UPDATE raw.service_tickets SET satisfaction = 9 WHERE ticket_id = (SELECT min(ticket_id) FROM raw.service_tickets)`,
    );
    warehouse.close();

    const failure = await runDbt({ args: ['build'], warehousePath }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DbtFailedError);
    const dbtError = failure as DbtFailedError;
    expect(dbtError.failures.map((f) => f.uniqueId)).toEqual([expect.stringContaining('value_between_stg_service__tickets_satisfaction')]);
    expect(dbtError.failures[0]!.status).toBe('fail');
    expect(dbtError.message).toContain('Got 1 result, configured to fail if != 0');
  });
});
