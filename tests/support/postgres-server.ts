import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A real, throwaway PostgreSQL server for tests: finds initdb/pg_ctl (Debian's
 * /usr/lib/postgresql/<v>/bin, else PATH), installs Debian's postgresql non-interactively when
 * absent, initialises a data directory in a temp folder with password (SCRAM) authentication,
 * starts it on a free loopback port and removes everything on stop(). As root, the server runs as
 * the `postgres` OS user (PostgreSQL refuses to run as root).
 */
export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Connection string for `database` (default: postgres). */
  url(database?: string, credentials?: { user?: string; password?: string }): string;
  stop(): Promise<void>;
}

function findBinDir(): string | null {
  const debianRoot = '/usr/lib/postgresql';
  if (fs.existsSync(debianRoot)) {
    const versions = fs.readdirSync(debianRoot).filter((v) => fs.existsSync(path.join(debianRoot, v, 'bin', 'pg_ctl')));
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(debianRoot, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return path.dirname(which.stdout.trim());
  return null;
}

function installPostgres(): void {
  if (process.getuid?.() !== 0) throw new Error('PostgreSQL is not installed and installing it needs root (apt-get install postgresql)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { env, stdio: 'inherit' });
  if (install().status !== 0) {
    execFileSync('apt-get', ['update'], { env, stdio: 'inherit' });
    if (install().status !== 0) throw new Error('apt-get install postgresql failed');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  let binDir = findBinDir();
  if (!binDir) {
    installPostgres();
    binDir = findBinDir();
    if (!binDir) throw new Error('PostgreSQL binaries not found after installing postgresql');
  }
  const asRoot = process.getuid?.() === 0;
  const osUser = asRoot ? 'postgres' : os.userInfo().username;
  const run = (command: string, args: string[]) => {
    const full = path.join(binDir!, command);
    const result = asRoot
      ? spawnSync('runuser', ['-u', osUser, '--', full, ...args], { encoding: 'utf8' })
      : spawnSync(full, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr || result.stdout}`);
    return result.stdout;
  };

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-pg-'));
  const dataDir = path.join(root, 'data');
  const password = crypto.randomBytes(12).toString('hex');
  const pwFile = path.join(root, 'pw');
  fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', osUser], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', osUser], { encoding: 'utf8' }).trim());
    fs.chownSync(root, uid, gid);
    fs.chownSync(pwFile, uid, gid);
  }
  run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--no-locale', '--no-sync']);
  const port = await freePort();
  run('pg_ctl', [
    '-D',
    dataDir,
    '-l',
    path.join(root, 'server.log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    'start',
  ]);
  const host = '127.0.0.1';
  let stopped = false;
  return {
    host,
    port,
    user: 'postgres',
    password,
    url: (database = 'postgres', credentials = {}) =>
      `postgres://${encodeURIComponent(credentials.user ?? 'postgres')}:${encodeURIComponent(credentials.password ?? password)}@${host}:${port}/${database}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
