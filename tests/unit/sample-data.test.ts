import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { LANDING_FILES } from '../../pipelines/sources/sample-data/landing-layout.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function generate(seed: number) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-gen-'));
  dirs.push(outDir);
  const truth = await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir, seed, customers: 120, orders: 900, malformedRate: 0.02 });
  const digest = (name: string) =>
    crypto
      .createHash('sha256')
      .update(fs.readFileSync(path.join(outDir, name)))
      .digest('hex');
  return { outDir, truth, digests: Object.values(LANDING_FILES).map(digest) };
}

describe('sample-data generator', () => {
  it('writes byte-identical files for the same seed and different ones for another seed', async () => {
    const [a, b, c] = await Promise.all([generate(11), generate(11), generate(12)]);
    expect(a.digests).toEqual(b.digests);
    expect(c.digests).not.toEqual(a.digests);
  });

  it('writes exactly the requested orders, every source family, and records the malformed ones', async () => {
    const { outDir, truth } = await generate(5);
    expect(truth.counts.orders).toBe(900);
    expect(truth.counts.customers).toBe(120);
    expect(truth.counts.tickets).toBeGreaterThan(0);
    expect(truth.counts.posts).toBeGreaterThan(0);
    expect(truth.malformed.orders.length).toBe(18);
    const orderLines = fs.readFileSync(path.join(outDir, LANDING_FILES.orders), 'utf8').trim().split('\n');
    // header + orders + extra versions (refunds, duplicates) + junk rows
    expect(orderLines.length).toBeGreaterThan(1 + 900 + 18);
    const ids = new Set(orderLines.slice(1).map((l) => l.split(',')[0]));
    expect(ids.size).toBe(900 + 18);
    const posts = fs.readFileSync(path.join(outDir, LANDING_FILES.posts), 'utf8');
    expect(posts).toMatch(/[\u4e00-\u9fff]/); // Chinese text is present
    expect(posts).toMatch(/"lang":"en"/);
  });
});
