/**
 * The web console (SPEC §7, issue 18): GET /console and /console/* serve the single-page app that
 * `npm run build` puts in dist/console (src/console/build.mjs); any path that is not one of its
 * files answers index.html, so the app's own routes survive a reload. Its strict CSP replaces the
 * default one: scripts, styles and requests from this origin only, no inline script, no framing.
 * Run from source (tsx), it serves the repository's dist/console; when that is missing it answers
 * 503 saying to run `npm run build`.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CofferError } from '../../errors.js';
import { sendProblem } from '../problem.js';

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/**
 * dist/console, found from this module's place: in the bundle (scripts/bundle.mjs) it sits in
 * dist/ or dist/chunks/, so the first `dist` above it; run from source (tsx) it sits in
 * src/http/routes, so the repository's dist/ (the first directory above with a package.json).
 */
export function consoleDir(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (path.basename(dir) === 'dist') return path.join(dir, 'console');
    if (existsSync(path.join(dir, 'package.json')) || path.dirname(dir) === dir) return path.join(dir, 'dist', 'console');
  }
}

export function consoleRoutes(app: FastifyInstance, dir = consoleDir()): void {
  async function serve(reply: FastifyReply, name: string): Promise<FastifyReply> {
    let files: string[];
    try {
      files = await readdir(dir);
    } catch {
      files = [];
    }
    if (!files.includes('index.html')) {
      return sendProblem(reply, new CofferError('unavailable', 'The web console is not built: run `npm run build` (it puts the console in dist/console).'));
    }
    const file = files.includes(name) && name !== '' ? name : 'index.html';
    const body = await readFile(path.join(dir, file));
    return reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('cache-control', 'no-cache')
      .type(TYPES[path.extname(file)] ?? 'application/octet-stream')
      .send(body);
  }
  const hide = { schema: { hide: true } };
  app.get('/console', hide, (_request, reply) => serve(reply, ''));
  // A file of the build when the path names one (no subdirectories), else the app's index.html.
  app.get('/console/*', hide, (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    return serve(reply, /^[\w.-]+$/.test(rest) ? rest : '');
  });
}
