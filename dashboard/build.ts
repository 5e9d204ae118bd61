import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Production build of the dashboard (vite: bundles the TypeScript, @cubejs-client/core and
 * ECharts into hashed static files under dashboard/dist; nothing is loaded from a CDN). The build is
 * skipped when dist was made from the same sources: a hash of dashboard/index.html, dashboard/src and
 * the pinned versions of the bundled packages is kept in dist/.source-hash.
 * `npm start`, `npm test` (through `crm setup`) and the browser test call ensureDashboardBuilt().
 */
export const dashboardDir = path.dirname(fileURLToPath(import.meta.url));
export { dashboardDistDir } from '../shared/paths.ts';
import { dashboardDistDir } from '../shared/paths.ts';
const HASH_FILE = '.source-hash';
const BUNDLED_PACKAGES = ['vite', 'echarts', 'zrender', '@cubejs-client/core'];

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)]))
    .sort();
}

function installedVersion(name: string): string {
  const manifest = path.join(dashboardDir, '..', 'node_modules', name, 'package.json');
  return fs.existsSync(manifest) ? String(JSON.parse(fs.readFileSync(manifest, 'utf8')).version) : 'missing';
}

export function dashboardSourceHash(): string {
  const hash = crypto.createHash('sha256');
  for (const file of [
    path.join(dashboardDir, 'index.html'),
    fileURLToPath(import.meta.url),
    ...filesUnder(path.join(dashboardDir, 'src')),
  ]) {
    hash.update(path.relative(dashboardDir, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  for (const name of BUNDLED_PACKAGES) hash.update(`${name}@${installedVersion(name)}\0`);
  return hash.digest('hex');
}

export function dashboardIsCurrent(outDir = dashboardDistDir): boolean {
  const stamp = path.join(outDir, HASH_FILE);
  return (
    fs.existsSync(path.join(outDir, 'index.html')) &&
    fs.existsSync(stamp) &&
    fs.readFileSync(stamp, 'utf8').trim() === dashboardSourceHash()
  );
}

export interface DashboardBuildResult {
  built: boolean;
  outDir: string;
  seconds: number;
}

/**
 * Builds into a fresh folder and swaps it in with renames, so a server reading dist while a build
 * runs never sees half a bundle.
 */
export async function ensureDashboardBuilt(
  options: { force?: boolean; log?: (message: string) => void } = {},
): Promise<DashboardBuildResult> {
  const started = performance.now();
  const outDir = dashboardDistDir;
  if (!options.force && dashboardIsCurrent(outDir)) return { built: false, outDir, seconds: 0 };
  options.log?.('building the dashboard (vite production build)');
  const hash = dashboardSourceHash();
  const staging = `${outDir}.build-${process.pid}`;
  const { build } = await import('vite');
  await build({
    root: dashboardDir,
    base: '/dashboard/',
    configFile: false,
    logLevel: 'warn',
    clearScreen: false,
    build: {
      outDir: staging,
      emptyOutDir: true,
      sourcemap: false,
      reportCompressedSize: false,
      // One page, one bundle with ECharts in it (about 1 MB before gzip).
      chunkSizeWarningLimit: 2000,
    },
  });
  fs.writeFileSync(path.join(staging, HASH_FILE), hash + '\n');
  const old = `${outDir}.old-${process.pid}`;
  if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
  fs.renameSync(staging, outDir);
  fs.rmSync(old, { recursive: true, force: true });
  return { built: true, outDir, seconds: (performance.now() - started) / 1000 };
}

// `npm run build:dashboard` (`--force` rebuilds even when current).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await ensureDashboardBuilt({ force: process.argv.includes('--force'), log: (m) => process.stderr.write(m + '\n') });
  process.stdout.write(
    result.built
      ? `dashboard built into ${result.outDir} in ${result.seconds.toFixed(1)} s\n`
      : `dashboard in ${result.outDir} is up to date\n`,
  );
}
