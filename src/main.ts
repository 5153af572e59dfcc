#!/usr/bin/env node
/** The `coffer` command. */
import { Command } from 'commander';
import { ConfigError, describeSettings, loadConfig } from './config.js';
import { printJwks } from './cli/jwks.js';
import { keygen } from './cli/keygen.js';
import { serve } from './cli/serve.js';

/** The one place that reads the environment: settings, and COFFER_DEBUG for stack traces. */
const env = process.env;
const configOf = (options: { config?: string }) => loadConfig(env, options.config ?? env.COFFER_CONFIG);

const program = new Command()
  .name('coffer')
  .description('Coffer: key/value data and files behind token authentication')
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('start the HTTP server (embedded defaults: ./coffer-data, http://127.0.0.1:8080)')
  .option('-c, --config <file>', 'JSON file of settings (keys like "port", "data_dir"); COFFER_* variables win')
  .addHelpText('after', `\nSettings (environment variables):\n${describeSettings()}\n\nExample:\n  COFFER_PORT=9090 COFFER_ADMIN_PASSWORD=change-me-please coffer serve\n`)
  .action((options: { config?: string }) => serve(configOf(options)));

program
  .command('jwks')
  .description('print the public keys that verify access tokens (for other services)')
  .option('--pem', 'as PEM (SPKI) instead of a JWK set')
  .option('-c, --config <file>', 'JSON file of settings')
  .addHelpText('after', '\nExample:\n  coffer jwks --pem > coffer-public.pem\n')
  .action((options: { pem?: boolean; config?: string }) => printJwks(configOf(options), options));

program
  .command('keygen')
  .description('write a key pair for a client that signs its requests (private key mode 0600, public key SPKI PEM)')
  .option('--location <dir>', 'where to write <user>_private.pem and <user>_public.pem', 'keys')
  .option('--user <name>', 'whose keys', 'example')
  .option('--type <type>', 'rsa (2048), ed25519 or p256', 'rsa')
  .addHelpText('after', '\nExample:\n  coffer keygen --location keys --user example --type p256\n  (refuses to overwrite existing files)\n')
  .action(keygen);

program.parseAsync().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`coffer: ${e.message}\nSee "coffer serve --help" for every setting.\n`);
  } else {
    process.stderr.write(`coffer: ${(e as Error).message}\n`);
    if (env.COFFER_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  }
  process.exitCode = 1;
});
