import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { warehouseStatus } from '../../pipelines/ledger/freshness.ts';
import { RunLedger } from '../../pipelines/ledger/ledger.ts';
import { sendAlert } from '../../pipelines/ledger/alerts.ts';
import { warehouseLayout } from '../../pipelines/publish/layout.ts';
import { configSchema } from '../../shared/config.ts';
import { logger } from '../../shared/logger.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-fresh-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('freshness status', () => {
  it('judges each source against its configured limit, flags never-loaded ones and dead runs, and alerts a webhook', async () => {
    const layout = warehouseLayout(path.join(dir, 'crm.duckdb'));
    const ledger = new RunLedger(layout.ledger);
    await ledger.startRun({ runId: 'r1', command: 'run', args: [], pid: process.pid });
    for (const source of ['orders', 'profiles']) {
      await ledger.startStep('r1', { stepId: `extract:${source}`, kind: 'extract' });
      await ledger.finishStep('r1', `extract:${source}`, { status: 'succeeded', attempts: 1, rowsIn: 10, rowsOut: 10, rejects: 0 });
    }
    await ledger.finishRun('r1', { status: 'succeeded', published: true, error: null });
    await ledger.startRun({ runId: 'r2', command: 'run', args: [], pid: 999_999 }); // died: no lock held

    const config = configSchema.parse({ freshness: { defaultMaxAgeHours: 24, sources: { orders: 1 } } });
    const threeHoursLater = Date.now() + 3 * 3_600_000;
    const status = await warehouseStatus({
      publishedPath: layout.published,
      ledger,
      config,
      sourceNames: ['orders', 'profiles', 'service_tickets'],
      now: threeHoursLater,
    });
    expect(status.sources.map((s) => [s.name, s.stale, s.maxAgeHours])).toEqual([
      ['orders', true, 1],
      ['profiles', false, 24],
      ['service_tickets', true, 24],
    ]);
    expect(status.sources[0]!.ageHours).toBeCloseTo(3, 0);
    expect(status.lastRuns[0]).toMatchObject({ runId: 'r2', status: 'interrupted' });
    expect(status.problems).toEqual([
      expect.stringMatching(/^source orders is stale: last loaded 3(\.\d+)? h ago \(limit 1 h\)$/),
      'source service_tickets is stale: never loaded by a published run (limit 24 h)',
      expect.stringContaining('the last run r2 interrupted'),
    ]);

    const bodies: { kind: string; summary: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req
        .on('data', (c) => (body += c))
        .on('end', () => {
          bodies.push(JSON.parse(body) as { kind: string; summary: string });
          res.writeHead(200).end('ok');
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const alerts = configSchema.parse({ alerts: { webhook: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` } }).alerts;
      const outcome = await sendAlert(
        alerts,
        { kind: 'stale', summary: status.problems.join('; '), at: new Date().toISOString(), details: status },
        logger,
      );
      expect(outcome).toEqual([{ hook: 'webhook', ok: true, detail: 'HTTP 200' }]);
      expect(bodies[0]).toMatchObject({ kind: 'stale', summary: expect.stringContaining('service_tickets is stale') });
    } finally {
      server.close();
    }
  });
});
