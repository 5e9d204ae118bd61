import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.ts';
import { projectRoot } from '../../shared/paths.ts';
import { devPseudonymKeyPath, resolvePseudonymKey } from '../../pipelines/transform/pseudonym-key.ts';
import { venvDir } from '../../pipelines/transform/python-venv.ts';

/**
 * Where the pseudonym key comes from (pipelines/transform/pseudonym-key.ts) and what dbt's plugin
 * does with it (pipelines/transform/duckdb_plugins/crm_pseudonym.py). Every case passes its own env
 * object, so nothing reads or writes the real ~/.config.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-pseudonym-key-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const KEY = 'a'.repeat(64);
const quiet = () => undefined;
let n = 0;
const freshDir = () => fs.mkdtempSync(path.join(tmp, `case-${n++}-`));

describe('resolvePseudonymKey', () => {
  it('takes CRM_PSEUDONYM_KEY first (surrounding whitespace ignored), even in production', () => {
    const xdg = freshDir();
    expect(
      resolvePseudonymKey(
        { CRM_PSEUDONYM_KEY: ` ${KEY}\n`, CRM_PSEUDONYM_KEY_FILE: '/nonexistent', CRM_ENV: 'production', XDG_CONFIG_HOME: xdg },
        quiet,
      ),
    ).toEqual({ key: KEY, source: 'env' });
    expect(fs.readdirSync(xdg)).toEqual([]);
  });

  it('else reads the file named by CRM_PSEUDONYM_KEY_FILE (trailing newline of `openssl rand -hex 32 >` dropped)', () => {
    const file = path.join(freshDir(), 'key');
    fs.writeFileSync(file, `${KEY}\n`, { mode: 0o600 });
    expect(resolvePseudonymKey({ CRM_PSEUDONYM_KEY: '', CRM_PSEUDONYM_KEY_FILE: file, CRM_ENV: 'production' }, quiet)).toEqual({
      key: KEY,
      source: 'file',
      path: file,
    });
  });

  it('names the variable when the key file cannot be read', () => {
    const missing = path.join(freshDir(), 'missing.key');
    expect(() => resolvePseudonymKey({ CRM_PSEUDONYM_KEY_FILE: missing }, quiet)).toThrow(ConfigError);
    expect(() => resolvePseudonymKey({ CRM_PSEUDONYM_KEY_FILE: missing }, quiet)).toThrow(
      /CRM_PSEUDONYM_KEY_FILE=.*missing\.key: cannot read the pseudonym key \(ENOENT\)/,
    );
  });

  it('outside production generates a 32-byte hex development key once at $XDG_CONFIG_HOME/crm-warehouse/pseudonym.key (0600), says where, and reuses it', () => {
    const xdg = freshDir();
    const env = { XDG_CONFIG_HOME: xdg, HOME: '/nonexistent-home' };
    const logged: { message: string; details: Record<string, unknown> }[] = [];
    const first = resolvePseudonymKey(env, (message, details) => logged.push({ message, details }));
    const file = path.join(xdg, 'crm-warehouse', 'pseudonym.key');
    expect(first).toEqual({ key: expect.stringMatching(/^[0-9a-f]{64}$/), source: 'dev-generated', path: file });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${first.key}\n`);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toContain(`generated a development pseudonym key at ${file}`);
    expect(logged[0]!.message).not.toContain(first.key);
    expect(logged[0]!.details).toEqual({ path: file });

    const second = resolvePseudonymKey(env, (message, details) => logged.push({ message, details }));
    expect(second).toEqual({ key: first.key, source: 'dev-file', path: file });
    expect(logged).toHaveLength(1);
  });

  it('falls back to $HOME/.config without XDG_CONFIG_HOME (or with a relative one), and two machines get two keys', () => {
    const home = freshDir();
    expect(devPseudonymKeyPath({ HOME: home })).toBe(path.join(home, '.config', 'crm-warehouse', 'pseudonym.key'));
    expect(devPseudonymKeyPath({ HOME: home, XDG_CONFIG_HOME: 'relative/dir' })).toBe(
      path.join(home, '.config', 'crm-warehouse', 'pseudonym.key'),
    );
    const a = resolvePseudonymKey({ HOME: home }, quiet);
    const b = resolvePseudonymKey({ HOME: freshDir() }, quiet);
    expect(a.path).toBe(path.join(home, '.config', 'crm-warehouse', 'pseudonym.key'));
    expect(a.key).not.toBe(b.key);
  });

  it('in production (CRM_ENV=production) without a key: a config error naming CRM_PSEUDONYM_KEY and how to make one, nothing written', () => {
    const xdg = freshDir();
    const attempt = () => resolvePseudonymKey({ CRM_ENV: 'production', XDG_CONFIG_HOME: xdg }, quiet);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^CRM_PSEUDONYM_KEY is not set \(nor CRM_PSEUDONYM_KEY_FILE\) and CRM_ENV=production.*openssl rand -hex 32/);
    expect(fs.readdirSync(xdg)).toEqual([]);
  });

  it('refuses a key shorter than 32 bytes from any source, without echoing it', () => {
    const short = 'too-short-key-31-bytes-long-xyz';
    expect(Buffer.byteLength(short)).toBe(31);
    const message = (() => {
      try {
        resolvePseudonymKey({ CRM_PSEUDONYM_KEY: short }, quiet);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      return 'no error';
    })();
    expect(message).toMatch(/^the pseudonym key from CRM_PSEUDONYM_KEY is 31 bytes long; CRM_PSEUDONYM_KEY must be at least 32 bytes/);
    expect(message).not.toContain(short);
    const file = path.join(freshDir(), 'short.key');
    fs.writeFileSync(file, short);
    expect(() => resolvePseudonymKey({ CRM_PSEUDONYM_KEY_FILE: file }, quiet)).toThrow(/is 31 bytes long/);
    // 32 bytes is enough (UTF-8 bytes, not characters: 11 three-byte characters are 33 bytes).
    expect(resolvePseudonymKey({ CRM_PSEUDONYM_KEY: 'x'.repeat(32) }, quiet).key).toHaveLength(32);
    expect(resolvePseudonymKey({ CRM_PSEUDONYM_KEY: '钥'.repeat(11) }, quiet).source).toBe('env');
  });

  it('refuses a key file inside the repository', () => {
    expect(() => resolvePseudonymKey({ CRM_PSEUDONYM_KEY_FILE: path.join(projectRoot, 'pseudonym.key') }, quiet)).toThrow(
      /inside the repository/,
    );
    expect(() => resolvePseudonymKey({ XDG_CONFIG_HOME: path.join(projectRoot, 'warehouse') }, quiet)).toThrow(/inside the repository/);
    expect(fs.existsSync(path.join(projectRoot, 'warehouse', 'crm-warehouse'))).toBe(false);
  });
});

/** Runs Python in the project venv with the plugin folder on the path; returns stdout (JSON). */
function python(code: string, env: Record<string, string | undefined>) {
  const result = spawnSync(path.join(venvDir, 'bin', 'python'), ['-c', code], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PYTHONPATH: path.join(projectRoot, 'pipelines', 'transform', 'duckdb_plugins'), ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const PLUGIN_PROBE = `
import json, duckdb
from crm_pseudonym import Plugin
conn = duckdb.connect(':memory:')
Plugin(name='crm_pseudonym', plugin_config={}).configure_connection(conn)
cursor = conn.cursor()  # dbt's threads use cursors of the configured connection
rows = cursor.execute("select v, crm_pseudonym(v) from (values ('alice@example.com'), (null), ('13800138000'), ('')) t(v)").fetchall()
print(json.dumps(rows))
`;

describe('the crm_pseudonym dbt-duckdb plugin', () => {
  it('registers crm_pseudonym(VARCHAR): HMAC-SHA-256 under CRM_PSEUDONYM_KEY as lowercase hex, null for null, also on cursors', () => {
    const key = crypto.randomBytes(32).toString('hex');
    const run = python(PLUGIN_PROBE, { CRM_PSEUDONYM_KEY: `${key}\n` });
    expect(run.stderr).toBe('');
    const rows = JSON.parse(run.stdout) as [string | null, string | null][];
    const hmac = (value: string) => crypto.createHmac('sha256', key).update(value, 'utf8').digest('hex');
    expect(rows).toEqual([
      ['alice@example.com', hmac('alice@example.com')],
      [null, null],
      ['13800138000', hmac('13800138000')],
      ['', hmac('')],
    ]);
    // Not the unsalted hash the mart used to expose.
    expect(rows[2]![1]).not.toBe(crypto.createHash('sha256').update('13800138000').digest('hex'));
  });

  it('fails when dbt connects without a key, or with a short one, naming CRM_PSEUDONYM_KEY', () => {
    const missing = python(PLUGIN_PROBE, { CRM_PSEUDONYM_KEY: undefined });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/PseudonymKeyError: Runtime Error\s+CRM_PSEUDONYM_KEY is not set: .*openssl rand -hex 32/);
    const short = python(PLUGIN_PROBE, { CRM_PSEUDONYM_KEY: 'short-key' });
    expect(short.stderr).toMatch(/CRM_PSEUDONYM_KEY is 9 bytes long; the pseudonym key must be at least 32 bytes/);
    expect(short.stderr).not.toContain('short-key');
  });
});
