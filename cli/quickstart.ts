import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../pipelines/sources/sample-data/generate.ts';
import { LANDING_FILES } from '../pipelines/sources/sample-data/landing-layout.ts';
import { ensurePythonVenv } from '../pipelines/transform/python-venv.ts';
import { logger } from '../shared/logger.ts';
import { runPipeline } from './pipeline.ts';
import { envValue } from '../shared/env.ts';
import { loadConfig } from '../shared/config.ts';

export interface QuickstartOptions {
  warehousePath: string;
  landingDir: string;
  regenerate?: boolean;
  serve: boolean;
  port: number;
}

/** The month-by-month KPI the quick start prints, asked of the API as any client would, in the shop's zone. */
export function quickstartQuery(timezone: string) {
  return {
    measures: ['executive_kpis.revenue', 'executive_kpis.buyer_count', 'executive_kpis.valid_order_count'],
    timeDimensions: [{ dimension: 'executive_kpis.ordered_at', granularity: 'month' }],
    order: { 'executive_kpis.ordered_at': 'asc' },
    timezone,
  };
}

/**
 * What a newcomer runs first: the whole journey on the embedded default, ending with a semantic
 * query answered over HTTP by the API (the same path a dashboard takes).
 */
export async function runQuickstart(options: QuickstartOptions): Promise<void> {
  const say = (line: string) => process.stdout.write(line + '\n');
  say('1/4 Python venv with pinned dbt (first time only: about a minute) and the dashboard build');
  ensurePythonVenv((message) => logger.info({ event: 'setup' }, message));
  const { ensureDashboardBuilt } = await import('../dashboard/build.ts');
  await ensureDashboardBuilt({ log: (message) => logger.info({ event: 'setup' }, message) });
  if (options.regenerate || !fs.existsSync(path.join(options.landingDir, LANDING_FILES.truth))) {
    say(`2/4 Generating a seeded sample shop into ${options.landingDir}`);
    await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: options.landingDir });
  } else {
    say(`2/4 Sample data already in ${options.landingDir} (use --regenerate to rewrite it)`);
  }
  say(`3/4 Pipeline: extract -> raw -> dbt build into ${options.warehousePath}`);
  const summary = await runPipeline({ warehousePath: options.warehousePath, landingDir: options.landingDir, unitTests: true });
  for (const extract of summary.extracts) {
    for (const t of extract.tables) {
      say(
        `    raw.${t.table.padEnd(16)} ${String(t.inserted + t.updated + t.unchanged).padStart(7)} loaded  ${String(t.rejected).padStart(4)} quarantined`,
      );
    }
  }
  say(`    dbt: ${summary.dbt?.models} models, ${summary.dbt?.tests} data tests, ${summary.dbt?.unitTests} unit tests passed`);
  if (summary.status === 'partial') say(`    partial run (${summary.published ? 'published' : 'not published'}): ${summary.run.error}`);
  say(
    `    run ${summary.runId} ${summary.published ? 'published' : 'kept the previous version of'} ${summary.warehousePath} (\`npm run crm -- history --run ${summary.runId}\`)`,
  );

  const { startApiServer } = await import('../api/server.ts');
  const { signDevToken } = await import('../api/auth.ts');
  const secret = envValue('CRM_API_SECRET') ?? crypto.randomBytes(32).toString('hex');
  const timezone = loadConfig().shop.timezone;
  const server = await startApiServer({
    warehousePath: options.warehousePath,
    jwtSecret: secret,
    port: options.port,
    host: '127.0.0.1',
    defaultTimezone: timezone,
  });
  const token = await signDevToken(secret, { sub: 'quickstart', role: 'analyst' });
  say(`4/4 API at ${server.url}; asking it for revenue and buyers by month (Cube query, ${timezone}, config shop.timezone):`);
  const response = await fetch(`${server.url}/cubejs-api/v1/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: quickstartQuery(timezone) }),
  });
  const body = (await response.json()) as { data?: Record<string, string | number | null>[]; error?: string };
  if (!response.ok || !body.data) {
    await server.close();
    throw new Error(`API answered ${response.status}: ${body.error ?? JSON.stringify(body)}`);
  }
  say('    month      revenue (CNY)  buyers  orders');
  for (const row of body.data) {
    const month = String(row['executive_kpis.ordered_at.month']).slice(0, 7);
    const revenue = Number(row['executive_kpis.revenue']).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    say(
      `    ${month}  ${revenue.padStart(14)}  ${String(row['executive_kpis.buyer_count']).padStart(6)}  ${String(row['executive_kpis.valid_order_count']).padStart(6)}`,
    );
  }
  if (!options.serve) {
    await server.close();
    return;
  }
  say('');
  say(`The API keeps serving at ${server.url} (Ctrl+C stops it). Try:`);
  say(`  curl -s ${server.url}/cubejs-api/v1/meta -H 'Authorization: ${token}'`);
  // The dashboard reads its token from the URL fragment (never sent to the server); 12 hours.
  const dashboardToken = await signDevToken(secret, { sub: 'quickstart-dashboard', role: 'executive' }, { expiresIn: '12h' });
  say('');
  say('Executive dashboard (open in a browser; the link carries a 12-hour token):');
  say(`  ${server.url}/dashboard/#token=${dashboardToken}`);
  if (!envValue('CRM_API_SECRET')) say('  (the token is signed with a random secret for this session; set CRM_API_SECRET to fix one)');
}
