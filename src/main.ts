#!/usr/bin/env node
/** The `coffer` command. */
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, describeSettings, loadConfig } from './config.js';
import { registerAuth } from './cli/auth.js';
import type { CertOptions } from './cli/cert.js';
import type { CliContext } from './cli/context.js';
import { describeError, EXIT, EXIT_CODES_HELP } from './cli/errors.js';
import { registerKeys } from './cli/keys.js';
import { registerKv } from './cli/kv.js';
import { registerObjects } from './cli/objects.js';
import { registerToken } from './cli/token.js';
import { registerUsers } from './cli/users.js';

// Each command imports what it needs when it runs (serve the server, jwks and the offline resets
// the database, token verify jose): a transfer loads commander, the client and node:http only.

/** The one place that reads the environment: settings, the CLI's variables, and COFFER_DEBUG for stack traces. */
const env = process.env;
const configOf = (options: { config?: string }) => loadConfig(env, options.config ?? env.COFFER_CONFIG);
const ctx: CliContext = {
  env: {
    ...(env.COFFER_URL ? { url: env.COFFER_URL } : {}),
    ...(env.COFFER_TOKEN ? { token: env.COFFER_TOKEN } : {}),
    ...(env.COFFER_PASSWORD !== undefined ? { password: env.COFFER_PASSWORD } : {}),
    configHome: env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config'),
    debug: !!env.COFFER_DEBUG,
  },
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
};

const program = new Command()
  .name('coffer')
  .description('Coffer: key/value data and files behind token authentication')
  .showHelpAfterError('(add --help for usage and examples)')
  .addHelpText(
    'after',
    `
Start here:
  coffer serve                                   # a server on ./coffer-data, http://127.0.0.1:8080
  coffer login http://127.0.0.1:8080 -u admin    # the password is asked for
  coffer put notes/today "buy milk" && coffer ls
  coffer upload big.iso isos/ && coffer presign isos/big.iso
${EXIT_CODES_HELP}`,
  );
// Usage errors print their message and the help hint, then exit 2 (not commander's 1).
program.exitOverride();

program
  .command('serve', { isDefault: true })
  .description('start the HTTP server (embedded defaults: ./coffer-data, http://127.0.0.1:8080)')
  .option('-c, --config <file>', 'JSON file of settings (keys like "port", "data_dir"); COFFER_* variables win')
  .addHelpText('after', `\nSettings (environment variables):\n${describeSettings()}\n\nExample:\n  COFFER_PORT=9090 COFFER_ADMIN_PASSWORD=change-me-please coffer serve\n`)
  .action(async (options: { config?: string }) => (await import('./cli/serve.js')).serve(configOf(options)));

program
  .command('jwks')
  .description('print the public keys that verify access tokens (for other services)')
  .option('--pem', 'as PEM (SPKI) instead of a JWK set')
  .option('-c, --config <file>', 'JSON file of settings')
  .addHelpText('after', '\nExample:\n  coffer jwks --pem > coffer-public.pem\n')
  .action(async (options: { pem?: boolean; config?: string }) => (await import('./cli/jwks.js')).printJwks(configOf(options), options));

program
  .command('keygen')
  .description('write a key pair for a client that signs its requests (private key mode 0600, public key SPKI PEM)')
  .option('--location <dir>', 'where to write <user>_private.pem and <user>_public.pem', 'keys')
  .option('--user <name>', 'whose keys', 'example')
  .option('--type <type>', 'rsa (2048), ed25519 or p256', 'rsa')
  .addHelpText('after', '\nExample:\n  coffer keygen --location keys --user example --type p256\n  (refuses to overwrite existing files)\n')
  .action(async (options: { location: string; user: string; type: string }) => (await import('./cli/keygen.js')).keygen(options));

program
  .command('cert')
  .description('write a self-signed TLS certificate and key for development (cert.pem, key.pem 0600)')
  .option('-o, --out <dir>', 'where to write cert.pem and key.pem', 'tls')
  .option('-n, --name <name>', 'a DNS name or IP address it is for (repeatable; default localhost, 127.0.0.1, ::1)', (v: string, all: string[]) => [...all, v], [] as string[])
  .option('--days <days>', 'how long it is valid', '365')
  .option('--type <type>', 'p256 (default; every browser takes it), rsa (2048) or ed25519', 'p256')
  .option('--force', 'replace existing files')
  .option('--json', 'print the files and the fingerprint as JSON')
  .addHelpText('after', '\nNot for production: clients must be told to trust it.\n\nExamples:\n  coffer cert && COFFER_TLS_CERT=tls/cert.pem COFFER_TLS_KEY=tls/key.pem coffer serve\n  coffer cert -n coffer.test -n 192.168.1.20 --days 30')
  .action(async (options: CertOptions) => (await import('./cli/cert.js')).makeCert(ctx, options));

registerAuth(program, ctx);
registerKv(program, ctx);
registerObjects(program, ctx);
registerKeys(program, ctx);
registerUsers(program, ctx, configOf);
registerToken(program, ctx);

/** Every command fails the same way: one line and a hint on stderr, an exit code that says what failed. */
function fail(e: unknown): void {
  if (e instanceof CommanderError) {
    // Commander has printed its message already; --help and --version are not failures.
    process.exitCode = e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : EXIT.usage;
    return;
  }
  if (e instanceof ConfigError) {
    process.stderr.write(`coffer: ${e.message}\nhint: see "coffer serve --help" for every setting\n`);
    process.exitCode = EXIT.generic;
    return;
  }
  const { lines, exitCode } = describeError(e);
  if (lines.length > 0) process.stderr.write(`coffer: ${lines[0]}\n${lines.slice(1).join('\n')}${lines.length > 1 ? '\n' : ''}`);
  if (ctx.env.debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exitCode = exitCode;
}

// Output cut short by a closed pipe (coffer download x - | head) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

// `serve` is the default command, so commander would take an unknown command for serve's argument.
const first = process.argv[2];
const known = new Set(['help', ...program.commands.flatMap((c) => [c.name(), ...c.aliases()])]);
if (first !== undefined && !first.startsWith('-') && !known.has(first)) {
  process.stderr.write(`coffer: unknown command "${first}"\nhint: "coffer --help" lists the commands\n`);
  process.exitCode = EXIT.usage;
} else {
  program.parseAsync().catch(fail);
}
