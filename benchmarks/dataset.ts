import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../shared/paths.ts';
import type { GroundTruth } from '../pipelines/sources/sample-data/landing-layout.ts';
import { runWorker } from './child-process.ts';
import type { BenchScale } from './scales.ts';

export interface BenchDataset {
  dir: string;
  landingDir: string;
  truth: GroundTruth;
  /** Seconds spent generating it now, or null when it came from the cache. */
  generatedSeconds: number | null;
}

/** Default home of cached data sets, work files and JSON results (git-ignored). */
export const BENCH_ROOT = path.join(projectRoot, '.bench');

/**
 * The generated landing folder for a scale and seed, generated once and reused by later runs
 * (generation at 10 million orders takes minutes). A marker written last makes an interrupted
 * generation count as missing.
 */
export async function ensureDataset(root: string, scale: BenchScale, seed: number, log: (line: string) => void): Promise<BenchDataset> {
  const dir = path.join(root, 'data', `seed-${seed}-${scale.name}`);
  const landingDir = path.join(dir, 'landing');
  const marker = path.join(dir, 'complete.json');
  if (fs.existsSync(marker)) {
    return { dir, landingDir, truth: readTruth(landingDir), generatedSeconds: null };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  log(`generating ${scale.orders.toLocaleString('en-US')} orders (seed ${seed}) into ${path.relative(projectRoot, landingDir)} ...`);
  const result = await runWorker('generate', { outDir: landingDir, orders: scale.orders, customers: scale.customers, seed });
  fs.writeFileSync(marker, JSON.stringify({ scale, seed, seconds: result.seconds, maxRssMB: result.maxRssMB }, null, 2));
  return { dir, landingDir, truth: readTruth(landingDir), generatedSeconds: result.seconds };
}

function readTruth(landingDir: string): GroundTruth {
  return JSON.parse(fs.readFileSync(path.join(landingDir, '_truth', 'ground_truth.json'), 'utf8')) as GroundTruth;
}
