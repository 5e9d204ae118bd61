// Runs before `npm start` and `npm test` so each quick-start command works on a fresh clone:
// installs node modules with `npm ci` when they are missing or older than package-lock.json.
// Plain Node on purpose: nothing else is installed yet when it runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lockfile = path.join(root, 'package-lock.json');
const installedMarker = path.join(root, 'node_modules', '.package-lock.json');
const requiredBins = ['tsx', 'vitest'].map((bin) => path.join(root, 'node_modules', '.bin', bin));

const upToDate =
  fs.existsSync(installedMarker) &&
  fs.statSync(installedMarker).mtimeMs >= fs.statSync(lockfile).mtimeMs &&
  requiredBins.every((bin) => fs.existsSync(bin));

if (!upToDate) {
  process.stderr.write('Installing node modules (npm ci)...\n');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('npm ci failed; see the output above.\n');
    process.exit(3);
  }
}
