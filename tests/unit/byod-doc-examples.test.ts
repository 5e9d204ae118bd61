import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { projectRoot } from '../../shared/paths.ts';

/**
 * The worked examples of docs/bring-your-own-data.md are run, not just shown: each example's files
 * (marked `<!-- example-file: <name> <path> [gb18030] -->` above their block) are written to a
 * landing folder, its crm.config.yml (`<!-- example-config: <name> -->`) is checked by the config
 * schema, and `crm sources check` must print exactly what the page shows (`<!-- example-check: <name> -->`).
 */

const DOC = path.join(projectRoot, 'docs', 'bring-your-own-data.md');
const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');

interface Example {
  files: { path: string; encoding: 'utf-8' | 'gb18030'; text: string }[];
  config?: string;
  check?: string[];
}

/** The fenced block right after line `index` (the marker), without its fences. */
function blockAfter(lines: string[], index: number): string {
  let i = index + 1;
  if (!lines[i]?.startsWith('```')) throw new Error(`${DOC}:${index + 1}: the marker is not followed by a fenced block`);
  const body: string[] = [];
  for (i += 1; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
  return body.join('\n');
}

function examples(): Map<string, Example> {
  const lines = fs.readFileSync(DOC, 'utf8').split('\n');
  const found = new Map<string, Example>();
  const get = (name: string) => found.get(name) ?? (found.set(name, { files: [] }), found.get(name)!);
  lines.forEach((line, index) => {
    const marker = /^<!-- example-(file|config|check): (\S+)(?: (.+?))? -->$/.exec(line);
    if (!marker) return;
    const [, kind, name, rest] = marker;
    const example = get(name!);
    const body = blockAfter(lines, index);
    if (kind === 'file') {
      const gb = rest!.endsWith(' gb18030');
      // The page writes a tab as \t (the seller centre's ids end in one).
      example.files.push({
        path: gb ? rest!.slice(0, -' gb18030'.length) : rest!,
        encoding: gb ? 'gb18030' : 'utf-8',
        text: body.replace(/\\t/g, '\t') + '\n',
      });
    } else if (kind === 'config') example.config = body + '\n';
    else {
      const out = body.split('\n');
      const start = out.findIndex((l) => /^\$ npx tsx cli\/crm\.ts sources check /.test(l));
      const end = out.findIndex((l, i) => i > start && l.startsWith('$ '));
      example.check = out.slice(start + 1, end === -1 ? undefined : end);
    }
  });
  return found;
}

const hasIconv = spawnSync('iconv', ['--version']).status === 0;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const found = examples();

describe('the worked examples of docs/bring-your-own-data.md', () => {
  it('the page has the shopify, taobao and order-lines examples with files, config and check output', () => {
    for (const name of ['shopify', 'taobao', 'retail']) {
      const example = found.get(name);
      expect(example?.files.length, name).toBeGreaterThan(0);
      expect(example?.config, name).toBeDefined();
      expect(example?.check?.length, name).toBeGreaterThan(1);
    }
  });

  for (const [name, example] of found) {
    const needsIconv = example.files.some((f) => f.encoding === 'gb18030');
    if (needsIconv && !hasIconv) console.warn(`skipping the ${name} example: no iconv here to write its GB18030 files`);
    it.skipIf(needsIconv && !hasIconv)(`${name}: the config is valid and crm sources check prints what the page shows`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `crm-doc-${name}-`));
      dirs.push(dir);
      const landing = path.join(dir, 'landing');
      for (const file of example.files) {
        const target = path.join(landing, file.path);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        if (file.encoding === 'utf-8') fs.writeFileSync(target, file.text);
        else {
          const encoded = spawnSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030'], { input: file.text });
          expect(encoded.status).toBe(0);
          // Really GB18030 (not UTF-8), and the same text back.
          expect(encoded.stdout.equals(Buffer.from(file.text))).toBe(false);
          expect(new TextDecoder('gb18030').decode(encoded.stdout)).toBe(file.text);
          fs.writeFileSync(target, encoded.stdout);
        }
      }
      const configPath = path.join(dir, 'crm.config.yml');
      fs.writeFileSync(configPath, example.config!);
      const config = loadConfig(configPath);
      expect(Object.keys(config.sources)).toContain(name);
      const result = spawnSync(tsx, ['cli/crm.ts', 'sources', 'check', name, '--landing', landing], {
        cwd: projectRoot,
        env: { ...process.env, CRM_CONFIG: configPath },
        encoding: 'utf8',
        timeout: 120_000,
      });
      const rejected = example.check!.some((l) => l === 'would be quarantined:');
      expect(result.status, result.stderr).toBe(rejected ? 1 : 0);
      expect(result.stdout.trimEnd().split('\n')).toEqual(example.check);
    });
  }
});
