/**
 * `coffer token verify <token>`: checks an access token offline, as another service would: the
 * signature against the server's public keys (its JWKS, fetched once from the server, or a file
 * given with --jwks: a JWK set or a PEM public key), then typ, exp/nbf, and iss/aud when given. The
 * server is not asked whether the token was revoked: that is `coffer whoami` (GET /v1/verify).
 */
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';

/** jose, loaded when a token is verified (the other commands do without it). */
type Jose = typeof import('jose');
import type { Command } from 'commander';
import { cliClient, normalizeUrl } from './connect.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { readStdinLine } from './prompt.js';
import { readSession } from './session.js';

export interface VerifyOptions {
  jwks?: string;
  issuer?: string;
  audience?: string;
  json?: boolean;
}

const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'];

async function keysFromFile(jose: Jose, file: string): Promise<JWTVerifyGetKey> {
  const text = await readFile(file, 'utf8');
  if (text.includes('-----BEGIN')) {
    // `coffer jwks --pem` prints one PEM per key; the token's header says which algorithm.
    const pems = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
    if (pems.length === 0) throw usageError(`${file} holds no PEM public key (-----BEGIN PUBLIC KEY-----)`);
    return async (header) => {
      let lastError: unknown;
      for (const pem of pems) {
        try {
          return await jose.importSPKI(pem, header.alg ?? 'EdDSA');
        } catch (e) {
          lastError = e;
        }
      }
      throw lastError;
    };
  }
  let set: JSONWebKeySet;
  try {
    set = JSON.parse(text) as JSONWebKeySet;
  } catch {
    throw usageError(`${file} is neither a JWK set (JSON) nor a PEM public key`);
  }
  if (!Array.isArray(set.keys)) throw usageError(`${file} is JSON but not a JWK set ({"keys": [...]})`);
  return jose.createLocalJWKSet(set);
}

export async function verifyToken(ctx: CliContext, tokenArg: string, options: VerifyOptions, remoteJwks: () => Promise<JSONWebKeySet>): Promise<void> {
  const token = (tokenArg === '-' ? await readStdinLine(ctx) : tokenArg).trim();
  const jose = await import('jose');
  let alg: string | undefined;
  try {
    alg = jose.decodeProtectedHeader(token).alg;
  } catch {
    throw usageError('that is not a JWT (three base64url parts separated by dots)');
  }
  if (alg === 'HS256') throw usageError('HS256 tokens are checked with the shared secret, not a public key', 'ask the server: COFFER_TOKEN=<token> coffer whoami');
  const keys = options.jwks ? await keysFromFile(jose, options.jwks) : jose.createLocalJWKSet(await remoteJwks());
  let payload: JWTPayload;
  try {
    ({ payload } = await jose.jwtVerify(token, keys, {
      algorithms: ALGORITHMS,
      typ: 'at+jwt',
      clockTolerance: 30,
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.audience ? { audience: options.audience } : {}),
    }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    const reason =
      code === 'ERR_JWT_EXPIRED'
        ? 'it has expired'
        : code === 'ERR_JWKS_NO_MATCHING_KEY'
          ? 'no key of the JWKS matches its kid (signed by another server, or a key rotated away)'
          : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
            ? 'the signature does not verify'
            : (e as Error).message;
    if (options.json) ctx.stdout.write(JSON.stringify({ valid: false, reason, code }) + '\n');
    throw new CliError(`the token is not valid: ${reason}`, EXIT.auth);
  }
  if (options.json) {
    ctx.stdout.write(JSON.stringify({ valid: true, claims: payload }) + '\n');
    return;
  }
  const exp = payload.exp ? new Date(payload.exp * 1000).toISOString() : 'never';
  ctx.stdout.write(`valid: ${payload.username ?? payload.sub} (${payload.scope ?? ''}), expires ${exp}\n`);
  ctx.stdout.write(JSON.stringify(payload, null, 2) + '\n');
}

export function registerToken(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('access tokens: verify');
  token
    .command('verify')
    .description('check an access token offline against the server\'s public keys (JWKS)')
    .argument('<token>', 'the JWT, or - to read it from stdin')
    .option('--jwks <file>', 'the keys: a JWK set (JSON) or PEM public keys ("coffer jwks --pem"); default: fetched from the server')
    .option('--url <url>', 'the server to fetch the JWKS from (default: COFFER_URL or the session\'s)')
    .option('--issuer <iss>', 'require this issuer (the server\'s COFFER_JWT_ISSUER, "coffer" by default)')
    .option('--audience <aud>', 'require this audience')
    .option('--json', 'print {"valid", "claims"} as JSON')
    .addHelpText(
      'after',
      `
Checks the signature, typ (at+jwt), expiry, and the issuer/audience when given, as another service
verifying Coffer's tokens would. Whether the token was revoked only the server knows: "coffer whoami".
Exit code 0 when valid, 3 when not.

Examples:
  coffer token verify eyJhbGciOiJFZERTQSIs...
  coffer jwks > jwks.json && coffer token verify --jwks jwks.json --issuer coffer - < token.txt`,
    )
    .action(async (t: string, o: VerifyOptions & { url?: string }) => {
      const remote = async () => {
        const session = await readSession(ctx.env.configHome);
        const url = o.url ?? ctx.env.url ?? session?.url;
        if (!url) throw usageError('which server\'s keys? pass --jwks <file> or --url <server>');
        return (await cliClient({ url: normalizeUrl(url) }).jwks()) as JSONWebKeySet;
      };
      await verifyToken(ctx, t, o, remote);
    });
}
