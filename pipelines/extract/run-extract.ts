import fs from 'node:fs';
import type { Logger } from 'pino';
import { loadBatch, type BatchSummary, type TableLoadSummary } from '../raw/load-batch.ts';
import { readSourceState } from '../raw/source-state.ts';
import { openWarehouse, type WarehouseHandle } from '../raw/warehouse-connection.ts';
import { ensureRawSchema, ensureRawTable } from '../raw/raw-schema.ts';
import { EMPTY_STATE, SourceSkippedError, type SourceDefinition } from './source-contract.ts';
import { envValue } from '../../shared/env.ts';

export interface ExtractOptions {
  warehousePath: string;
  landingDir: string;
  batchId: string;
  onProgress?: (recordsRead: number) => void;
  log?: Logger;
}

export interface ExtractSummary extends BatchSummary {
  kind: SourceDefinition['kind'];
  /** Source notes for the run summary, e.g. files loaded and skipped. */
  notes: string[];
  /** Set when the source had nothing to read (an absent optional source): nothing was committed. */
  skipped?: string;
}

/**
 * Extracts one source into its raw tables as a single atomic batch: the source reads its last
 * committed state; its records, quarantine rows and new state are committed together or not at
 * all. The warehouse is held open (DuckDB: one writer per file) for the whole batch, so no other
 * process can commit between reading the state and committing the batch.
 */
export async function extractSource(source: SourceDefinition, options: ExtractOptions): Promise<ExtractSummary> {
  // A warehouse that does not exist yet is not created until the source has opened cleanly, so a
  // misconfigured source leaves no trace.
  let warehouse: WarehouseHandle | null = fs.existsSync(options.warehousePath) ? await openWarehouse(options.warehousePath) : null;
  const summaries: ExtractSummary[] = [];
  try {
    // A source may split its work into several batches (SourceBatch.hasMore, e.g. one per N pages
    // of an HTTP API): each commits its records and cursor, so a failure resumes from the last one.
    for (let chunk = 1; ; chunk++) {
      const batchId = chunk === 1 ? options.batchId : `${options.batchId}#${chunk}`;
      const state = warehouse ? await readSourceState(warehouse.connection, source.name) : EMPTY_STATE;
      let batch;
      try {
        batch = await source.open({ landingDir: options.landingDir, state, batchId, ...(options.log ? { log: options.log } : {}) });
      } catch (error) {
        if (!(error instanceof SourceSkippedError) || chunk > 1) throw error;
        // Its raw tables still exist (empty), so the models over them build for a shop without this source.
        warehouse ??= await openWarehouse(options.warehousePath);
        await ensureRawSchema(warehouse.connection);
        for (const record of source.records) await ensureRawTable(warehouse.connection, record);
        return { source: source.name, batchId, kind: source.kind, tables: [], notes: [error.reason], skipped: error.reason };
      }
      let more = false;
      try {
        warehouse ??= await openWarehouse(options.warehousePath);
        await boundMemory(warehouse);
        const readBefore = summaries.reduce((n, s) => n + s.tables.reduce((m, t) => m + t.read, 0), 0);
        const summary = await loadBatch(warehouse.connection, source.name, batchId, batch.parts, {
          ...(options.onProgress ? { onProgress: (read: number) => options.onProgress!(readBefore + read) } : {}),
          kind: source.kind,
          finish: () => batch.finish(),
          extraTables: source.records,
        });
        summaries.push({ ...summary, kind: source.kind, notes: batch.notes?.() ?? [] });
        // A batch that read nothing cannot make progress: stop rather than loop.
        more = (batch.hasMore?.() ?? false) && summary.tables.some((t) => t.read > 0);
      } finally {
        await batch.close();
      }
      if (!more) break;
    }
  } finally {
    warehouse?.close();
  }
  return mergeSummaries(summaries);
}

/** One summary for a source's run, however many batches it committed. */
function mergeSummaries(summaries: ExtractSummary[]): ExtractSummary {
  if (summaries.length === 1) return summaries[0]!;
  const first = summaries[0]!;
  const tables = new Map<string, TableLoadSummary>();
  for (const summary of summaries) {
    for (const t of summary.tables) {
      const acc = tables.get(t.table);
      if (!acc) {
        tables.set(t.table, {
          ...t,
          unknownFields: { ...t.unknownFields },
          missingFields: { ...t.missingFields },
          rejectedSamples: [...t.rejectedSamples],
        });
        continue;
      }
      for (const k of ['read', 'inserted', 'updated', 'unchanged', 'superseded', 'rejected'] as const) acc[k] += t[k];
      for (const [f, n] of Object.entries(t.unknownFields)) acc.unknownFields[f] = (acc.unknownFields[f] ?? 0) + n;
      for (const [f, n] of Object.entries(t.missingFields)) acc.missingFields[f] = (acc.missingFields[f] ?? 0) + n;
      acc.rejectedSamples.push(...t.rejectedSamples.slice(0, Math.max(0, 5 - acc.rejectedSamples.length)));
    }
  }
  const last = summaries[summaries.length - 1]!;
  return {
    source: first.source,
    batchId: first.batchId,
    kind: first.kind,
    tables: [...tables.values()],
    state: { cursor: last.state?.cursor, files: summaries.flatMap((s) => s.state?.files ?? []) },
    notes: [`${summaries.length} batches committed`, ...last.notes],
  };
}

/** Environment variable: DuckDB memory limit while extracting (DuckDB spills to disk beyond it). */
export const EXTRACT_MEMORY_ENV = 'CRM_EXTRACT_MEMORY_LIMIT';
/**
 * DuckDB's memory limit while extracting, unless CRM_EXTRACT_MEMORY_LIMIT says otherwise. A source's
 * batch is one transaction, and DuckDB frees neither the appends to raw nor the dropped stage tables
 * of that transaction before it commits: at 10 million orders (orders, then 20 million order lines
 * in the same batch) 512MB ran out of memory in the lines' step; 640MB loads them (peak RSS 1,025 MiB).
 */
export const DEFAULT_EXTRACT_MEMORY_LIMIT = '640MB';
/** Environment variable: DuckDB threads while extracting (default: one per core); fewer threads need less memory. */
export const EXTRACT_THREADS_ENV = 'CRM_EXTRACT_THREADS';

/**
 * Keeps a load's memory flat however large the input: DuckDB spills stage tables and sorts to its
 * temp directory (beside the warehouse file) beyond the limit instead of growing with the input.
 */
async function boundMemory(warehouse: WarehouseHandle): Promise<void> {
  const limit = envValue(EXTRACT_MEMORY_ENV) ?? DEFAULT_EXTRACT_MEMORY_LIMIT;
  if (!/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i.test(limit)) {
    throw new Error(`${EXTRACT_MEMORY_ENV} must be a size such as 512MB or 2GB, got "${limit}"`);
  }
  await warehouse.connection.run(`SET memory_limit = '${limit}'`);
  const threads = envValue(EXTRACT_THREADS_ENV);
  if (threads) {
    if (!/^[1-9]\d*$/.test(threads)) throw new Error(`${EXTRACT_THREADS_ENV} must be a positive whole number, got "${threads}"`);
    await warehouse.connection.run(`SET threads = ${threads}`);
  }
  await warehouse.connection.run('SET preserve_insertion_order = false');
}
