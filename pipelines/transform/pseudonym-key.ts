import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../shared/config.ts';
import { logger } from '../../shared/logger.ts';
import { projectRoot } from '../../shared/paths.ts';
import { envValue } from '../../shared/env.ts';

/**
 * The deployment secret behind dim_customers' email_pseudonym and phone_pseudonym (HMAC-SHA-256,
 * computed in dbt's process by pipelines/transform/duckdb_plugins/crm_pseudonym.py). It lives
 * outside the repository and the warehouse; runDbt hands it to dbt in CRM_PSEUDONYM_KEY, and only
 * dbt's Python process holds it. See docs/pseudonyms.md.
 */
export const PSEUDONYM_KEY_ENV = 'CRM_PSEUDONYM_KEY';
export const PSEUDONYM_KEY_FILE_ENV = 'CRM_PSEUDONYM_KEY_FILE';
/** CRM_ENV=production: no generated development key, the key must be configured. */
export const DEPLOYMENT_ENV = 'CRM_ENV';
/** Same limit as the plugin's (its UTF-8 bytes, surrounding whitespace stripped). */
export const MIN_PSEUDONYM_KEY_BYTES = 32;

const HOW_TO_SET =
  `set ${PSEUDONYM_KEY_ENV} to a secret of at least ${MIN_PSEUDONYM_KEY_BYTES} bytes, or ${PSEUDONYM_KEY_FILE_ENV} to a file holding one ` +
  '(generate it once with `openssl rand -hex 32` and keep it in your secret store, outside the repository and the warehouse; see docs/pseudonyms.md)';

export interface PseudonymKey {
  /** The key's text as dbt's plugin uses it (HMAC over its UTF-8 bytes). */
  key: string;
  /** Where it came from: the variable, the named file, or the development key file (generated now or earlier). */
  source: 'env' | 'file' | 'dev-generated' | 'dev-file';
  /** The file it was read from or written to, for 'file' and 'dev-*'. */
  path?: string;
}

/** Where a development key is kept: ${XDG_CONFIG_HOME:-$HOME/.config}/crm-warehouse/pseudonym.key. */
export function devPseudonymKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec ignores a relative XDG_CONFIG_HOME.
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const home = env.HOME?.trim() || os.homedir();
  const configHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.config');
  return path.join(configHome, 'crm-warehouse', 'pseudonym.key');
}

/**
 * The pseudonym key: $CRM_PSEUDONYM_KEY, else the file named by $CRM_PSEUDONYM_KEY_FILE; else, unless
 * CRM_ENV=production, a development key generated once (32 random bytes, hex) at
 * devPseudonymKeyPath() with mode 0600 and reused afterwards. Throws ConfigError naming the variable
 * in production without a key, for a key shorter than 32 bytes, or for a key file inside the
 * repository. Never puts the key in a message.
 */
export function resolvePseudonymKey(
  env: NodeJS.ProcessEnv = process.env,
  log: (message: string, details: Record<string, unknown>) => void = (message, details) =>
    logger.warn({ event: 'pseudonym_key', ...details }, message),
): PseudonymKey {
  const fromEnv = envValue(PSEUDONYM_KEY_ENV, env);
  if (fromEnv) return { key: checked(fromEnv, PSEUDONYM_KEY_ENV), source: 'env' };

  const keyFile = envValue(PSEUDONYM_KEY_FILE_ENV, env);
  if (keyFile) {
    const file = path.resolve(keyFile);
    refuseInsideRepository(file, PSEUDONYM_KEY_FILE_ENV);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `${PSEUDONYM_KEY_FILE_ENV}=${file}: cannot read the pseudonym key (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ${HOW_TO_SET}`,
      );
    }
    return { key: checked(text.trim(), `the file ${file} (${PSEUDONYM_KEY_FILE_ENV})`), source: 'file', path: file };
  }

  if (envValue(DEPLOYMENT_ENV, env) === 'production') {
    throw new ConfigError(
      `${PSEUDONYM_KEY_ENV} is not set (nor ${PSEUDONYM_KEY_FILE_ENV}) and ${DEPLOYMENT_ENV}=production, where no development key is generated: ${HOW_TO_SET}`,
    );
  }
  return developmentKey(devPseudonymKeyPath(env), log);
}

/** Reads the development key, or creates it (exclusively, so two processes never write two keys). */
function developmentKey(file: string, log: (message: string, details: Record<string, unknown>) => void): PseudonymKey {
  refuseInsideRepository(file, 'XDG_CONFIG_HOME');
  const existing = readIfExists(file);
  if (existing !== undefined) return { key: checked(existing.trim(), `the development key ${file}`), source: 'dev-file', path: file };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = crypto.randomBytes(32).toString('hex');
  try {
    fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it between our read and our write: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: checked(fs.readFileSync(file, 'utf8').trim(), `the development key ${file}`), source: 'dev-file', path: file };
  }
  fs.chmodSync(file, 0o600); // the umask cannot widen it, but an existing ACL default might
  log(
    `generated a development pseudonym key at ${file} (${PSEUDONYM_KEY_ENV} and ${PSEUDONYM_KEY_FILE_ENV} are not set); ` +
      `pseudonyms built with it differ from any other machine's. In production set ${DEPLOYMENT_ENV}=production and ${PSEUDONYM_KEY_ENV} (docs/pseudonyms.md)`,
    { path: file },
  );
  return { key, source: 'dev-generated', path: file };
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read the development pseudonym key ${file}: ${(error as Error).message}`);
  }
}

function checked(key: string, origin: string): string {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes < MIN_PSEUDONYM_KEY_BYTES) {
    throw new ConfigError(
      `the pseudonym key from ${origin} is ${bytes} bytes long; ${PSEUDONYM_KEY_ENV} must be at least ${MIN_PSEUDONYM_KEY_BYTES} bytes (generate one with \`openssl rand -hex 32\`)`,
    );
  }
  return key;
}

/** The key must live outside the repository (a file there is one `git add` away from being shared). */
function refuseInsideRepository(file: string, variable: string): void {
  const relative = path.relative(projectRoot, file);
  if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
    throw new ConfigError(
      `the pseudonym key file ${file} (from ${variable}) is inside the repository ${projectRoot}; keep the key outside it: ${HOW_TO_SET}`,
    );
  }
}
