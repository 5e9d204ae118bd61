import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApiServer } from '../../api/server.ts';

/**
 * The /dashboard/ route over a stand-in build folder (the real build and the page itself are
 * tested in tests/e2e/dashboard.test.ts): 503 naming the fix while nothing is built, the files with
 * their headers once they are, a new build visible at once, no way out of the folder.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-dashboard-route-'));
const distDir = path.join(tmp, 'dist');
// The route never opens the warehouse: a path is enough.
const app = buildApiServer({
  warehousePath: path.join(tmp, 'none.duckdb'),
  jwtSecret: 'unit-dashboard-secret-0123456789',
  dashboardDir: distDir,
});

afterAll(async () => {
  await app.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeBuild(marker: string): void {
  fs.mkdirSync(path.join(distDir, 'assets'), { recursive: true });
  fs.writeFileSync(
    path.join(distDir, 'index.html'),
    `<!doctype html><title>${marker}</title><script type="module" src="/dashboard/assets/app-1.js"></script>`,
  );
  fs.writeFileSync(path.join(distDir, 'assets', 'app-1.js'), 'console.log(1)');
  fs.writeFileSync(path.join(distDir, '.source-hash'), 'abc\n');
}

describe('GET /dashboard/', () => {
  it('answers 503 with the command to run while the dashboard is not built', async () => {
    const response = await app.inject({ url: '/dashboard/' });
    expect(response.statusCode).toBe(503);
    expect(response.json().error).toMatch(/npm run build:dashboard/);
  });

  it('serves the build: index revalidated, hashed assets immutable, a same-origin CSP', async () => {
    writeBuild('first');
    const index = await app.inject({ url: '/dashboard/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toContain('text/html');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(index.body).toContain('first');
    const asset = await app.inject({ url: '/dashboard/assets/app-1.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('redirects /dashboard to /dashboard/ keeping the query', async () => {
    const response = await app.inject({ url: '/dashboard?lang=zh&brand=Aurora' });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe('/dashboard/?lang=zh&brand=Aurora');
  });

  it('shows a new build at once (dist is swapped by rename)', async () => {
    fs.rmSync(distDir, { recursive: true });
    writeBuild('second');
    expect((await app.inject({ url: '/dashboard/' })).body).toContain('second');
  });

  it('serves nothing outside the build: no dot files, no traversal', async () => {
    expect((await app.inject({ url: '/dashboard/.source-hash' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/dashboard/..%2f..%2fpackage.json' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/dashboard/assets/missing.js' })).statusCode).toBe(404);
  });
});
