import { loadBatch, type BatchSummary } from '../raw/load-batch.ts';
import { openWarehouse } from '../raw/warehouse-connection.ts';
import { resolveSourceFiles, type SourceDefinition } from './sources.ts';

export interface ExtractOptions {
  warehousePath: string;
  landingDir: string;
  batchId: string;
  onProgress?: (recordsRead: number) => void;
}

/** Extracts one source into its raw tables as a single atomic batch. */
export async function extractSource(source: SourceDefinition, options: ExtractOptions): Promise<BatchSummary> {
  const filePaths = resolveSourceFiles(source, options.landingDir);
  const warehouse = await openWarehouse(options.warehousePath);
  try {
    const parts = source.files.map((f, i) => ({ record: f.record, records: f.read(filePaths[i]!, options.landingDir) }));
    return await loadBatch(warehouse.connection, source.name, options.batchId, parts, options.onProgress);
  } finally {
    warehouse.close();
  }
}
