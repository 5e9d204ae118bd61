import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../shared/paths.ts';

/**
 * Real public data beside the repository (../shared/datasets, see its README): CI has it, a user's
 * clone may not. A test on it asks for its file here and skips with one clear line when it is absent.
 */
export const DATASETS_DIR = path.resolve(projectRoot, '..', 'shared', 'datasets');

const announced = new Set<string>();

/** The dataset file's path, or null (and one line on stderr) when it is not there. */
export function datasetFile(relative: string): string | null {
  const file = path.join(DATASETS_DIR, relative);
  if (fs.existsSync(file)) return file;
  if (!announced.has(relative)) {
    announced.add(relative);
    process.stderr.write(`skipped: real-data tests need ${file} (../shared/datasets, see its README); absent here\n`);
  }
  return null;
}
