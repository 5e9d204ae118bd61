/**
 * Child process for the kill test: extracts one source and prints "progress <records read>" as it
 * goes, so the parent can SIGKILL it mid-load. Usage: node --import tsx extract-child.ts <source>
 * <landingDir> <warehousePath> <batchId>
 */
import { findSource } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';

const [name, landingDir, warehousePath, batchId] = process.argv.slice(2) as [string, string, string, string];
const summary = await extractSource(findSource(name), {
  landingDir,
  warehousePath,
  batchId,
  onProgress: (read) => process.stdout.write(`progress ${read}\n`),
});
process.stdout.write(`done ${JSON.stringify(summary.tables.map((t) => [t.table, t.inserted, t.updated]))}\n`);
