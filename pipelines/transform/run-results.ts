import fs from 'node:fs';
import { z } from 'zod';

/** The part of dbt's run_results.json (schema v6) the pipeline relies on. */
const runResultsSchema = z.object({
  elapsed_time: z.number(),
  results: z.array(
    z.object({
      unique_id: z.string(),
      status: z.string(),
      message: z.string().nullable().optional(),
      execution_time: z.number().optional(),
      failures: z.number().nullable().optional(),
      adapter_response: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

export interface DbtNodeResult {
  uniqueId: string;
  status: string;
  message: string | null;
  executionSeconds: number;
  failures: number | null;
  rowsAffected: number | null;
}

/** dbt statuses that mean the node did not do its job. */
const FAILED = new Set(['error', 'fail', 'runtime error']);

export function readRunResults(filePath: string): { elapsedSeconds: number; results: DbtNodeResult[]; failures: DbtNodeResult[] } | null {
  if (!fs.existsSync(filePath)) return null;
  const parsed = runResultsSchema.parse(JSON.parse(fs.readFileSync(filePath, 'utf8')));
  const results = parsed.results.map((r) => ({
    uniqueId: r.unique_id,
    status: r.status,
    message: r.message ?? null,
    executionSeconds: r.execution_time ?? 0,
    failures: r.failures ?? null,
    rowsAffected: typeof r.adapter_response?.rows_affected === 'number' ? r.adapter_response.rows_affected : null,
  }));
  return { elapsedSeconds: parsed.elapsed_time, results, failures: results.filter((r) => FAILED.has(r.status)) };
}
