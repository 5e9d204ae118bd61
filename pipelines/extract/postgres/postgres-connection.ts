import pg from 'pg';
import { SourceUnavailableError } from '../source-contract.ts';

/** The connection string with any password replaced, safe for logs and error messages. */
export function redactConnectionString(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable connection string)';
  }
}

/** Why a connection failed, in words an operator acts on. */
function describeConnectError(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { code?: string };
  switch (e.code) {
    case '28P01':
    case '28000':
      return `authentication failed (${e.message})`;
    case '3D000':
      return `database does not exist (${e.message})`;
    case 'ECONNREFUSED':
      return 'connection refused (is the server running and listening on that host and port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${e.message})`;
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return e.message || String(error);
  }
}

/**
 * Connects a pg client, turning every way a connection can fail (bad URL, refused, bad
 * credentials, missing database, timeout) into one line naming the source and the cause.
 */
export async function connectPostgres(source: string, connectionString: string, timeoutMs = 10_000): Promise<pg.Client> {
  if (connectionString.trim() === '') throw new SourceUnavailableError(source, 'no PostgreSQL connection string configured');
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new SourceUnavailableError(source, 'invalid PostgreSQL connection string (expected postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new SourceUnavailableError(source, `invalid PostgreSQL connection string: scheme "${url.protocol}" (expected postgres://)`);
  }
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs, application_name: `crm-extract:${source}` });
  // An error after connecting (server restart) must fail the batch, not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new SourceUnavailableError(
      source,
      `cannot connect to PostgreSQL at ${redactConnectionString(connectionString)}: ${describeConnectError(error)}`,
    );
  }
  return client;
}
