import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from './exit-codes.ts';
import { printResult } from './output.ts';
import { HTTP_ORDERS_ENV } from '../pipelines/extract/http/http-orders-source.ts';
import { OPINION_FEEDS_ENV } from '../pipelines/extract/opinion/opinion-feed-source.ts';
import { startSampleSourceServer, type Misbehaviour } from '../pipelines/sources/sample-data/http-source-server.ts';
import { resolveLandingDir } from '../shared/paths.ts';

const KINDS: Misbehaviour[] = ['timeout', 'error500', 'rate429', 'truncate'];

const whole = (name: string) => (raw: string) => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be a whole number >= 0.`);
  return value;
};
const share = (raw: string) => {
  const value = Number(raw);
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1.');
  return value;
};
const kinds = (raw: string) => {
  const list = raw
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const unknown = list.filter((k) => !KINDS.includes(k as Misbehaviour));
  if (list.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`expected a comma-separated list of ${KINDS.join(', ')}.`);
  return list as Misbehaviour[];
};

/**
 * `crm serve-sample-sources`: serve a generated landing folder on 127.0.0.1 as the HTTP orders API
 * (for the `orders_http` source) and as opinion feeds (for `opinion_feeds`), optionally
 * misbehaving on purpose. Runs until Ctrl+C / SIGTERM.
 */
export function registerServeSampleSourcesCommand(program: Command): void {
  program
    .command('serve-sample-sources')
    .description(
      'Serve the generated sample orders as a paginated JSON API and the opinion posts as JSON Feed/RSS/Atom feeds on 127.0.0.1 (optionally misbehaving).',
    )
    .addOption(
      new Option('--landing <dir>', 'generated landing folder to serve').default(resolveLandingDir(), '$CRM_LANDING_DIR or data/landing'),
    )
    .option('--port <n>', 'port (0 picks a free one)', whole('port'), 4100)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--token <token>', 'require "Authorization: Bearer <token>" (401 otherwise)')
    .option('--misbehave <rate>', 'share of URLs (0..1) that fail on their first request: stall, 500, 429 or truncated page', share, 0)
    .option('--misbehave-kinds <list>', `which failures to use (${KINDS.join(',')})`, kinds, KINDS)
    .option('--seed <n>', 'seed choosing which URLs misbehave and how', whole('seed'), 1)
    .option('--retry-after <seconds>', 'Retry-After sent with 429', whole('retry-after'), 1)
    .option('--stall-ms <ms>', 'how long a stalled request hangs before the connection drops', whole('stall-ms'), 30_000)
    .option('--json', 'print the server URL and endpoints as one JSON document on stdout')
    .addHelpText(
      'after',
      `
Endpoints:
  GET /api/{orders,order_items,payments,refunds,cancellations}?limit=N[&cursor=C]   cursor pagination
  GET /api/{...}?page=P&per_page=N                                                   page pagination
  GET /feeds/posts.json | /feeds/posts.rss | /feeds/posts.atom  [?lang=zh|en]        JSON Feed 1.1, RSS 2.0, Atom
  GET /api/posts?page=P&per_page=N                                                   plain JSON page API

Then, in another terminal:
  ${HTTP_ORDERS_ENV.url}=http://127.0.0.1:4100/api npm run crm -- extract orders_http
  ${OPINION_FEEDS_ENV}="http://127.0.0.1:4100/feeds/posts.rss http://127.0.0.1:4100/feeds/posts.json" npm run crm -- extract opinion_feeds`,
    )
    .action(
      async (opts: {
        landing: string;
        port: number;
        host: string;
        token?: string;
        misbehave: number;
        misbehaveKinds: Misbehaviour[];
        seed: number;
        retryAfter: number;
        stallMs: number;
        json?: boolean;
      }) => {
        const landingDir = path.resolve(opts.landing);
        if (!fs.existsSync(landingDir))
          throw new UsageError(`landing folder not found: ${landingDir} (run \`npm run crm -- generate\` first)`);
        const server = await startSampleSourceServer({
          landingDir,
          port: opts.port,
          host: opts.host,
          ...(opts.token ? { token: opts.token } : {}),
          ...(opts.misbehave > 0
            ? {
                misbehave: {
                  rate: opts.misbehave,
                  seed: opts.seed,
                  kinds: opts.misbehaveKinds,
                  retryAfterSeconds: opts.retryAfter,
                  stallMs: opts.stallMs,
                },
              }
            : {}),
        });
        const info = {
          url: server.url,
          ordersApi: `${server.url}/api`,
          feeds: ['/feeds/posts.json', '/feeds/posts.rss', '/feeds/posts.atom', '/api/posts'].map((p) => `${server.url}${p}`),
          counts: server.counts,
          misbehave: opts.misbehave,
        };
        printResult(Boolean(opts.json), info, () =>
          [
            `Serving ${landingDir} on ${server.url} (Ctrl+C stops)`,
            `  orders API: ${info.ordersApi}  (${Object.entries(server.counts)
              .filter(([k]) => k !== 'posts')
              .map(([k, n]) => `${n} ${k}`)
              .join(', ')})`,
            `  feeds:      ${info.feeds.join('  ')}  (${server.counts.posts} posts)`,
            opts.misbehave > 0
              ? `  misbehaving on ${Math.round(opts.misbehave * 100)} % of URLs: ${opts.misbehaveKinds.join(', ')} (seed ${opts.seed})`
              : '  well-behaved (pass --misbehave 0.2 to test retries)',
          ].join('\n'),
        );
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
      },
    );
}
