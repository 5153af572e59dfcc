/** `coffer serve`: start the HTTP server and stop it gracefully on SIGINT/SIGTERM. */
import { buildApp } from '../app.js';
import type { Config } from '../config.js';
import { compactHeap } from '../util/compact-heap.js';

const SHUTDOWN_GRACE_MS = 10_000;

export async function serve(config: Config): Promise<void> {
  const coffer = await buildApp(config);
  if (coffer.generatedAdminPassword) {
    process.stderr.write(
      `\nCreated the admin account "${config.adminUser}" with the password:\n\n    ${coffer.generatedAdminPassword}\n\n` +
        'It is shown only this once: keep it, or set COFFER_ADMIN_PASSWORD before the first start.\n\n',
    );
  }
  await coffer.app.ready();
  const started = performance.now();
  // Start-up's garbage, given back before anyone waits (src/util/compact-heap.ts).
  const compacted = compactHeap();
  const ms = Math.round(performance.now() - started);
  coffer.app.log.debug({ ms }, compacted ? 'start-up garbage compacted' : "start-up garbage left to V8's memory reducer (flags frozen)");
  await coffer.app.listen({ host: config.host, port: config.port });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    coffer.app.log.info({ signal }, 'shutting down: finishing requests in flight');
    const force = setTimeout(() => {
      coffer.app.log.warn('requests still running after the grace period; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    coffer.close().then(
      () => {
        process.exitCode = 0;
      },
      (err: unknown) => {
        coffer.app.log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
