import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * Debian's Chromium for browser tests: returns the path of the executable, installing the
 * `chromium` package non-interactively when it is absent (as root, like tests/support/postgres-server.ts
 * does for PostgreSQL). playwright-core drives it; Playwright's own browser download is never used
 * (nothing outside the package mirrors is reachable here).
 */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function findChromium(): string | null {
  const fromEnv = process.env.CRM_CHROMIUM_PATH;
  if (fromEnv && fs.existsSync(fromEnv)) return fromEnv;
  return CHROMIUM_CANDIDATES.find((candidate) => fs.existsSync(candidate)) ?? null;
}

/** A CJK font, so the Chinese labels render in screenshots (a person's browser brings its own). */
export const CJK_FONT_PACKAGE = 'fonts-wqy-microhei';
const CJK_FONT_FILE = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc';

function installChromium(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'Chromium is not installed and installing it needs root (apt-get install -y --no-install-recommends chromium), or set CRM_CHROMIUM_PATH',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium', CJK_FONT_PACKAGE], { env, stdio: 'inherit' });
  if (install().status !== 0) {
    // A fresh machine may have no package lists yet.
    execFileSync('apt-get', ['update'], { env, stdio: 'inherit' });
    if (install().status !== 0) throw new Error('apt-get install chromium failed');
  }
}

/** The Chromium executable, installed first when missing (with a CJK font when root). */
export function ensureChromium(): string {
  let executable = findChromium();
  if (!executable || (!fs.existsSync(CJK_FONT_FILE) && process.getuid?.() === 0)) {
    installChromium();
    executable = findChromium();
    if (!executable) throw new Error(`Chromium not found after installing it (looked in ${CHROMIUM_CANDIDATES.join(', ')})`);
  }
  return executable;
}

// `npx tsx tests/support/chromium.ts` installs it ahead of a test run.
if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${ensureChromium()}\n`);
}
