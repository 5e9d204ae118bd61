import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export interface DashboardRouteOptions {
  /** The dashboard's production build (dashboard/dist). */
  distDir: string;
}

/**
 * GET /dashboard/: the executive dashboard's static build (@fastify/static). The page is public
 * like any static file; its data comes from /cubejs-api/v1 with the caller's JWT, which the page
 * reads from the URL fragment (#token=..., never sent to the server). Hashed assets are cached for
 * a year; index.html is revalidated so a new build shows up at once. The content security policy
 * keeps the page on this origin: no CDN, no third-party requests.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // ECharts and the layout set style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const dashboardRoutes: FastifyPluginAsync<DashboardRouteOptions> = async (app, options) => {
  const distDir = path.resolve(options.distDir);
  const built = () => fs.existsSync(path.join(distDir, 'index.html'));

  app.get('/dashboard', async (request, reply) => {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    return reply.redirect(`/dashboard/${query}`, 302);
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/dashboard/')) return;
    if (!built()) {
      return reply
        .code(503)
        .send({ error: `the dashboard is not built (no ${path.join(distDir, 'index.html')}): run \`npm run build:dashboard\`` });
    }
  });

  await app.register(fastifyStatic, {
    root: distDir,
    prefix: '/dashboard/',
    decorateReply: false,
    index: ['index.html'],
    // dist is swapped by rename on rebuild: look files up per request, not once at start.
    wildcard: true,
    serveDotFiles: false,
    dotfiles: 'ignore',
    cacheControl: false,
    setHeaders: (reply, filePath) => {
      const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
      reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      reply.header('content-security-policy', CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    },
  });
};
