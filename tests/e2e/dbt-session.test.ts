import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GENERATE_OPTIONS, generateSampleData } from '../../pipelines/sources/sample-data/generate.ts';
import { SOURCES } from '../../pipelines/extract/sources.ts';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { openWarehouse } from '../../pipelines/raw/warehouse-connection.ts';
import { DbtFailedError, DbtSession, runDbt } from '../../pipelines/transform/dbt-cli.ts';
import { runSteps, transformSteps } from '../../pipelines/run/run-pipeline.ts';
import { projectRoot } from '../../shared/paths.ts';

/**
 * pipelines/transform/duckdb_session/crm_dbt.py with the real dbt: partial parsing kept when the
 * warehouse path changes (every run builds in a copy of its own), a session of several commands
 * reusing the parsed project, the DuckDB file free between commands, a failed command not ending
 * the session, and a session that dies with its parent.
 */
let workDir: string;
let warehousePath: string;
const artifacts = () => path.join(workDir, 'artifacts');

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-dbt-session-'));
  const landingDir = path.join(workDir, 'landing');
  warehousePath = path.join(workDir, 'a', 'wh.duckdb');
  fs.mkdirSync(path.dirname(warehousePath), { recursive: true });
  await generateSampleData({ ...DEFAULT_GENERATE_OPTIONS, outDir: landingDir, customers: 30, orders: 200, malformedRate: 0 });
  for (const source of SOURCES) await extractSource(source, { warehousePath, landingDir, batchId: `t:${source.name}` });
}, 120_000);
afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

/** Running (a zombie waiting for its reaper counts as ended). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, seconds: number): Promise<boolean> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

describe('dbt on the DuckDB target (crm_dbt.py)', () => {
  it('no model, macro, test or snapshot reads target.path, which partial parsing ignores', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\.(sql|yml|yaml)$/.test(entry.name) && /target\s*(\.\s*path|\[\s*['"]path['"]\s*\])/.test(fs.readFileSync(file, 'utf8')))
          offenders.push(path.relative(projectRoot, file));
      }
    };
    for (const dir of ['models', 'macros', 'tests/dbt', 'snapshots', 'seeds']) walk(path.join(projectRoot, dir));
    expect(offenders).toEqual([]);
  });

  it('keeps partial parsing when the same project runs against a copy of the warehouse at another path', async () => {
    const reasons: string[] = [];
    const onLogEvent = (event: { name: string; msg: string }) => {
      if (event.name === 'UnableToPartialParse') reasons.push(event.msg);
    };
    const first = path.join(artifacts(), 'target-parse-1');
    await runDbt({
      args: ['run', '--select', 'stg_shop__orders'],
      warehousePath,
      artifactsDir: artifacts(),
      targetPath: first,
      onLogEvent,
    });
    expect(reasons).toHaveLength(1); // no saved state yet: a full parse
    expect(reasons[0]).toContain('saved manifest not found');
    const copy = path.join(workDir, 'b', 'wh.duckdb');
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(warehousePath, copy);
    const second = path.join(artifacts(), 'target-parse-2');
    fs.mkdirSync(second, { recursive: true });
    fs.copyFileSync(path.join(first, 'partial_parse.msgpack'), path.join(second, 'partial_parse.msgpack'));
    reasons.length = 0;
    await runDbt({
      args: ['run', '--select', 'stg_shop__orders'],
      warehousePath: copy,
      artifactsDir: artifacts(),
      targetPath: second,
      onLogEvent,
    });
    // Plain dbt-duckdb says "Unable to do partial parsing because profile has changed" here.
    expect(reasons).toEqual([]);
  }, 180_000);

  it('runs several commands in one process: later ones reuse the parse, the file is free in between, a failure does not end it', async () => {
    const session = new DbtSession(warehousePath);
    try {
      const target = (name: string) => path.join(artifacts(), `target-${name}`);
      const first = await runDbt({
        args: ['run', '--select', 'stg_shop__orders'],
        warehousePath,
        artifactsDir: artifacts(),
        targetPath: target('s1'),
        session,
      });
      expect(first.results.filter((r) => r.uniqueId === 'model.customer_value_warehouse.stg_shop__orders')).toHaveLength(1);
      expect(fs.existsSync(path.join(target('s1'), 'partial_parse.msgpack'))).toBe(true); // it parsed

      // Between commands another process may write the file (the CLV scorer does).
      const warehouse = await openWarehouse(warehousePath);
      await warehouse.connection.run('create or replace table raw.session_probe as select 1 as x');
      warehouse.close();

      const second = await runDbt({
        args: ['run', '--select', 'stg_shop__customers'],
        warehousePath,
        artifactsDir: artifacts(),
        targetPath: target('s2'),
        session,
      });
      expect(second.results.map((r) => r.status)).toContain('success');
      expect(fs.existsSync(path.join(target('s2'), 'manifest.json'))).toBe(true);
      expect(fs.existsSync(path.join(target('s2'), 'partial_parse.msgpack'))).toBe(false); // no parse: the first one's manifest

      const failed = await runDbt({
        args: ['run-operation', 'crm_no_such_macro'],
        warehousePath,
        artifactsDir: artifacts(),
        targetPath: target('s3'),
        session,
      }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(DbtFailedError);
      expect(session.alive).toBe(true);
      const after = await runDbt({
        args: ['run', '--select', 'stg_shop__orders'],
        warehousePath,
        artifactsDir: artifacts(),
        targetPath: target('s4'),
        session,
      });
      expect(after.ok).toBe(true);
      expect(session.invocations).toBe(4);
    } finally {
      await session.close();
    }
    const pid = session.pid!;
    expect(processAlive(pid)).toBe(false); // close() waits for the exit
  }, 240_000);

  it('ends when its parent is killed, even in the middle of a command', async () => {
    const script = path.join(workDir, 'parent.mts');
    fs.writeFileSync(
      script,
      [
        `import { DbtSession, runDbt } from ${JSON.stringify(path.join(projectRoot, 'pipelines', 'transform', 'dbt-cli.ts'))};`,
        `const session = new DbtSession(${JSON.stringify(warehousePath)});`,
        `console.log(JSON.stringify({ pid: session.pid }));`,
        `await runDbt({ args: ['build', '--exclude', 'source:ml+'], warehousePath: ${JSON.stringify(warehousePath)}, artifactsDir: ${JSON.stringify(
          artifacts(),
        )}, targetPath: ${JSON.stringify(path.join(artifacts(), 'target-killed'))}, session, onNodeFinished: (n) => console.log(JSON.stringify({ node: n.uniqueId })) });`,
      ].join('\n'),
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let dbtPid = 0;
    for await (const line of readline.createInterface({ input: parent.stdout })) {
      const event = JSON.parse(line) as { pid?: number; node?: string };
      if (event.pid) dbtPid = event.pid;
      if (event.node) {
        parent.kill('SIGKILL');
        break;
      }
    }
    expect(dbtPid).toBeGreaterThan(0);
    expect(await waitUntil(() => !processAlive(dbtPid), 10)).toBe(true);
  }, 240_000);

  it("a run's transform is one dbt process: parse started before the copy, both builds reuse it", async () => {
    const published = path.join(workDir, 'c', 'wh.duckdb');
    fs.mkdirSync(path.dirname(published), { recursive: true });
    fs.copyFileSync(warehousePath, published);
    const run = await runSteps(
      { warehousePath: published, landingDir: path.join(workDir, 'landing'), command: 'transform', interactive: false },
      transformSteps(),
    );
    expect(run.error).toBeNull();
    expect(run.steps.map((s) => [s.id, s.status])).toEqual([
      ['dbt:build', 'succeeded'],
      ['clv:score', 'succeeded'],
      ['dbt:build:ml', 'succeeded'],
      ['publish', 'succeeded'],
    ]);
    // dbt's own log of the run (JSON lines, rotated into dbt.log.1 ...): every event carries its process id.
    const logs = path.join(path.dirname(published), '.dbt-wh', 'logs');
    const events = fs
      .readdirSync(logs)
      .filter((file) => file.startsWith('dbt.log'))
      .flatMap((file) => fs.readFileSync(path.join(logs, file), 'utf8').split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { info: { name: string; ts: string; pid: number; msg: string } })
      .sort((x, y) => x.info.ts.localeCompare(y.info.ts));
    const commands = events.filter((e) => e.info.name === 'CommandCompleted');
    expect(commands.map((e) => /`\w+ (\w+)`/.exec(e.info.msg)?.[1])).toEqual(['parse', 'build', 'build']);
    expect(new Set(events.map((e) => e.info.pid)).size).toBe(1);
  }, 300_000);
});
