/**
 * Every setting Coffer reads, in one table: its environment variable, its key in the optional
 * JSON config file, its default, and how it is validated. Only main.ts reads process.env and
 * hands it here.
 * Precedence: environment variable > config file > default.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  bool,
  bucketName,
  databaseUrl,
  int,
  list,
  oneOf,
  optionalSecret,
  optionalStr,
  optionalUrl,
  s3KeyFile,
  storageId,
  str,
  trustProxy,
  username,
  type Parser,
  type S3Credentials,
  type TrustProxy,
} from './config-parsers.js';
import { ConfigError } from './errors.js';

export { ConfigError } from './errors.js';
export type { S3Credentials, TrustProxy } from './config-parsers.js';

export type JwtAlgorithm = 'EdDSA' | 'ES256' | 'RS256' | 'HS256';
export const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['EdDSA', 'ES256', 'RS256', 'HS256'];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  adminUser: string;
  adminPassword: string | undefined;
  openRegistration: boolean;
  passwordMinLength: number;
  logLevel: LogLevel;
  jwtAlgorithm: JwtAlgorithm;
  jwtSecret: string | undefined;
  jwtIssuer: string;
  jwtAudience: string | undefined;
  clockSkewSeconds: number;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  loginMaxFailures: number;
  loginWindowSeconds: number;
  kvMaxBytes: number;
  bodyLimitBytes: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  corsOrigins: string[];
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  storageBackend: 'fs' | 's3';
  s3Endpoint: string | undefined;
  s3Region: string;
  s3Bucket: string;
  s3Prefix: string;
  s3ForcePathStyle: boolean;
  /** From COFFER_S3_KEY_FILE, read at start; else the standard AWS variables. */
  s3Credentials: S3Credentials | undefined;
  s3BucketPerUser: boolean;
  publicUrl: string | undefined;
  challengeTtl: number;
  pubkeySelfRegistration: boolean;
  parcelStorageId: string;
  parcelJsonMaxBytes: number;
  metricsToken: string | undefined;
  /** Encrypts what many nodes share in the database (signing keys, the presign secret). */
  secretKey: string | undefined;
  trustProxy: TrustProxy;
  rateLimit: number;
  rateLimitWindowSeconds: number;
  passwordHashConcurrency: number;
  passwordHashQueue: number;
}

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  file: string;
  help: string;
  parse: Parser<Config[K]>;
  default: Config[K] | ((c: Partial<Config>) => Config[K]);
  /** Never echoed in an error: a refused value may still be the real secret, or hold one (a URL's password). */
  secret?: true;
}

const DAY = 86_400;

function def<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

export const SETTINGS = [
  def({ key: 'host', env: 'COFFER_HOST', file: 'host', help: 'address to listen on', parse: str, default: '127.0.0.1' }),
  def({ key: 'port', env: 'COFFER_PORT', file: 'port', help: 'TCP port (0 picks a free one)', parse: int(0, 65535), default: 8080 }),
  def({ key: 'dataDir', env: 'COFFER_DATA_DIR', file: 'data_dir', help: 'where the database, signing keys and files live', parse: str, default: './coffer-data' }),
  def({
    key: 'databaseUrl', env: 'COFFER_DATABASE_URL', file: 'database_url', help: 'metadata store: sqlite:<file> or postgres://…',
    parse: databaseUrl, secret: true, default: (c) => `sqlite:${path.join(c.dataDir ?? './coffer-data', 'coffer.db')}`,
  }),
  def({ key: 'adminUser', env: 'COFFER_ADMIN_USER', file: 'admin_user', help: 'name of the admin created on first start', parse: username, default: 'admin' }),
  def({ key: 'adminPassword', env: 'COFFER_ADMIN_PASSWORD', file: 'admin_password', help: 'its password (generated and printed once when unset)', parse: optionalStr, secret: true, default: undefined }),
  def({ key: 'openRegistration', env: 'COFFER_OPEN_REGISTRATION', file: 'open_registration', help: 'let anyone POST /v1/register', parse: bool, default: false }),
  def({ key: 'passwordMinLength', env: 'COFFER_PASSWORD_MIN_LENGTH', file: 'password_min_length', help: 'shortest password accepted (NIST SP 800-63B asks for 8; the older designs\' demo accounts need 3)', parse: int(1, 1024), default: 8 }),
  def({ key: 'logLevel', env: 'COFFER_LOG_LEVEL', file: 'log_level', help: 'log level', parse: oneOf(LOG_LEVELS), default: 'info' }),
  def({ key: 'jwtAlgorithm', env: 'COFFER_JWT_ALG', file: 'jwt_alg', help: 'access token signing algorithm', parse: oneOf(JWT_ALGORITHMS), default: 'EdDSA' }),
  def({ key: 'jwtSecret', env: 'COFFER_JWT_SECRET', file: 'jwt_secret', help: 'HS256 secret (at least 32 bytes); only with COFFER_JWT_ALG=HS256', parse: optionalStr, secret: true, default: undefined }),
  def({ key: 'jwtIssuer', env: 'COFFER_JWT_ISSUER', file: 'jwt_issuer', help: 'iss claim of issued tokens', parse: str, default: 'coffer' }),
  def({ key: 'jwtAudience', env: 'COFFER_JWT_AUDIENCE', file: 'jwt_audience', help: 'aud claim (none when unset)', parse: optionalStr, default: undefined }),
  def({ key: 'clockSkewSeconds', env: 'COFFER_CLOCK_SKEW', file: 'clock_skew', help: 'seconds of clock skew tolerated on exp/nbf', parse: int(0, 300), default: 30 }),
  def({ key: 'accessTokenTtl', env: 'COFFER_ACCESS_TOKEN_TTL', file: 'access_token_ttl', help: 'access token lifetime, seconds', parse: int(30, DAY), default: 2700 }),
  def({ key: 'refreshTokenTtl', env: 'COFFER_REFRESH_TOKEN_TTL', file: 'refresh_token_ttl', help: 'refresh token lifetime, seconds', parse: int(60, 365 * DAY), default: 30 * DAY }),
  def({ key: 'loginMaxFailures', env: 'COFFER_LOGIN_MAX_FAILURES', file: 'login_max_failures', help: 'failed logins per account before it is throttled', parse: int(1, 1000), default: 5 }),
  def({ key: 'loginWindowSeconds', env: 'COFFER_LOGIN_WINDOW', file: 'login_window', help: 'seconds over which failed logins count', parse: int(1, DAY), default: 900 }),
  def({ key: 'kvMaxBytes', env: 'COFFER_KV_MAX_BYTES', file: 'kv_max_bytes', help: 'largest key/value value, bytes', parse: int(1, 64 * 1024 * 1024), default: 1024 * 1024 }),
  def({ key: 'bodyLimitBytes', env: 'COFFER_BODY_LIMIT', file: 'body_limit', help: 'largest JSON/form body of routes that take no upload, bytes', parse: int(1024, 16 * 1024 * 1024), default: 64 * 1024 }),
  def({ key: 'headersTimeoutMs', env: 'COFFER_HEADERS_TIMEOUT_MS', file: 'headers_timeout_ms', help: 'time allowed for request headers, ms', parse: int(1000, 600_000), default: 10_000 }),
  def({ key: 'bodyTimeoutMs', env: 'COFFER_BODY_TIMEOUT_MS', file: 'body_timeout_ms', help: 'longest stall while a body arrives, ms', parse: int(1000, 3_600_000), default: 60_000 }),
  def({ key: 'corsOrigins', env: 'COFFER_CORS_ORIGINS', file: 'cors_origins', help: 'comma-separated origins allowed by CORS (* for any; none when empty)', parse: list, default: [] }),
  def({ key: 'tlsCert', env: 'COFFER_TLS_CERT', file: 'tls_cert', help: 'PEM certificate file for HTTPS', parse: optionalStr, default: undefined }),
  def({ key: 'tlsKey', env: 'COFFER_TLS_KEY', file: 'tls_key', help: 'PEM private key file for HTTPS', parse: optionalStr, default: undefined }),
  def({ key: 'storageBackend', env: 'COFFER_STORAGE_BACKEND', file: 'storage_backend', help: 'where parcel bytes live', parse: oneOf(['fs', 's3'] as const), default: 'fs' }),
  def({ key: 's3Endpoint', env: 'COFFER_S3_ENDPOINT', file: 's3_endpoint', help: 'S3 endpoint URL (unset for AWS S3)', parse: optionalUrl, default: undefined }),
  def({ key: 's3Region', env: 'COFFER_S3_REGION', file: 's3_region', help: 'S3 region', parse: str, default: 'us-east-1' }),
  def({ key: 's3Bucket', env: 'COFFER_S3_BUCKET', file: 's3_bucket', help: 'S3 bucket (created when missing)', parse: bucketName, default: 'coffer' }),
  def({ key: 's3Prefix', env: 'COFFER_S3_PREFIX', file: 's3_prefix', help: 'key prefix inside the bucket', parse: str, default: '' }),
  def({ key: 's3ForcePathStyle', env: 'COFFER_S3_FORCE_PATH_STYLE', file: 's3_force_path_style', help: 'path-style URLs (Ceph RGW, MinIO)', parse: bool, default: false }),
  def({ key: 's3Credentials', env: 'COFFER_S3_KEY_FILE', file: 's3_key_file', help: 'key.json {"access_key","secret_key"} (else the standard AWS variables)', parse: s3KeyFile, default: undefined }),
  def({ key: 's3BucketPerUser', env: 'COFFER_S3_BUCKET_PER_USER', file: 's3_bucket_per_user', help: 'one bucket per user, named {COFFER_S3_BUCKET}-{username}', parse: bool, default: false }),
  def({ key: 'publicUrl', env: 'COFFER_PUBLIC_URL', file: 'public_url', help: 'base of the URLs Coffer hands out (else the Host the client used)', parse: optionalUrl, default: undefined }),
  def({ key: 'challengeTtl', env: 'COFFER_CHALLENGE_TTL', file: 'challenge_ttl', help: 'lifetime of a challenge token (POST /api/v1/auth), seconds', parse: int(5, 3600), default: 60 }),
  def({
    key: 'pubkeySelfRegistration', env: 'COFFER_PUBKEY_SELF_REGISTRATION', file: 'pubkey_self_registration',
    help: 'create the user named by a P-256 address on its first signed request', parse: bool, default: (c) => c.openRegistration ?? false,
  }),
  def({ key: 'parcelStorageId', env: 'COFFER_PARCEL_STORAGE_ID', file: 'parcel_storage_id', help: 'first 8 hex digits of every parcel id', parse: storageId, default: '00000001' }),
  def({
    key: 'parcelJsonMaxBytes', env: 'COFFER_PARCEL_JSON_MAX_BYTES', file: 'parcel_json_max_bytes',
    help: 'largest JSON (hex) parcel upload, bytes; raw uploads stream without this limit', parse: int(1024, 1024 * 1024 * 1024), default: 64 * 1024 * 1024,
  }),
  def({
    key: 'secretKey', env: 'COFFER_SECRET_KEY', file: 'secret_key',
    help: 'with it, signing keys and the presign secret live in the database, encrypted, shared by every node (give every node the same one; at least 32 characters)',
    parse: optionalSecret(32), secret: true, default: undefined,
  }),
  def({
    key: 'trustProxy', env: 'COFFER_TRUST_PROXY', file: 'trust_proxy',
    help: 'whose X-Forwarded-For to believe: false, true, a number of hops, or addresses/CIDRs (comma-separated)', parse: trustProxy, default: false,
  }),
  def({ key: 'rateLimit', env: 'COFFER_RATE_LIMIT', file: 'rate_limit', help: 'requests per client address per window to login, registration, challenges and assertions', parse: int(1, 1_000_000), default: 30 }),
  def({ key: 'rateLimitWindowSeconds', env: 'COFFER_RATE_LIMIT_WINDOW', file: 'rate_limit_window', help: 'the rate-limit window, seconds', parse: int(1, DAY), default: 60 }),
  def({
    key: 'passwordHashConcurrency', env: 'COFFER_PASSWORD_HASH_CONCURRENCY', file: 'password_hash_concurrency',
    help: 'password hashes computed at once (argon2id: a core each)', parse: int(1, 64), default: 1,
  }),
  def({
    key: 'passwordHashQueue', env: 'COFFER_PASSWORD_HASH_QUEUE', file: 'password_hash_queue',
    help: 'password checks that may wait for one; beyond, 503 with Retry-After', parse: int(0, 100_000), default: 64,
  }),
  def({
    key: 'metricsToken', env: 'COFFER_METRICS_TOKEN', file: 'metrics_token',
    help: 'when set, GET /metrics needs "Authorization: Bearer <this>" (at least 16 characters); open when unset', parse: optionalSecret(16), secret: true, default: undefined,
  }),
] as const;

/** The config file's keys may hold strings, numbers, booleans or (for lists) arrays. */
function fileValueToString(v: unknown): string {
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`COFFER_CONFIG: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`COFFER_CONFIG: ${file} is not a JSON object of settings: ${(e as Error).message}`);
  }
}

/**
 * Builds the configuration from the environment (and the JSON file named by COFFER_CONFIG or
 * `configFile`). Collects every problem and throws one ConfigError naming each bad setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv, configFile = env.COFFER_CONFIG): Config {
  const fileValues = configFile ? readConfigFile(configFile) : {};
  const known = new Set<string>(SETTINGS.map((s) => s.file));
  const problems: string[] = [];
  for (const k of Object.keys(fileValues)) {
    if (!known.has(k)) problems.push(`${configFile}: unknown setting "${k}" (known: ${[...known].join(', ')})`);
  }

  const out: Partial<Record<keyof Config, unknown>> = {};
  for (const s of SETTINGS) {
    const fromEnv = env[s.env];
    const fromFile = fileValues[s.file];
    const raw = fromEnv !== undefined ? fromEnv : fromFile !== undefined ? fileValueToString(fromFile) : undefined;
    if (raw === undefined) {
      out[s.key] = typeof s.default === 'function' ? s.default(out as Partial<Config>) : s.default;
      continue;
    }
    const value = (s.parse as Parser<unknown>)(raw);
    if (value instanceof Error) {
      const where = fromEnv !== undefined ? s.env : `${s.file} in ${configFile}`;
      const shown = s.secret ? `(hidden, ${[...raw].length} characters)` : JSON.stringify(raw);
      problems.push(`${where}=${shown} is not valid: expected ${value.message} (${s.help})`);
    } else {
      out[s.key] = value;
    }
  }
  const config = out as Config;
  if (problems.length === 0) problems.push(...crossChecks(config));
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}

function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  if (c.jwtAlgorithm === 'HS256' && (!c.jwtSecret || Buffer.byteLength(c.jwtSecret) < 32)) {
    problems.push('COFFER_JWT_ALG=HS256 needs COFFER_JWT_SECRET of at least 32 bytes (e.g. `openssl rand -base64 48`)');
  }
  if (c.jwtAlgorithm !== 'HS256' && c.jwtSecret) {
    problems.push(`COFFER_JWT_SECRET is only used with COFFER_JWT_ALG=HS256 (it is ${c.jwtAlgorithm}); unset one of them`);
  }
  if (Boolean(c.tlsCert) !== Boolean(c.tlsKey)) {
    problems.push('COFFER_TLS_CERT and COFFER_TLS_KEY go together: set both or neither');
  }
  if (c.adminPassword !== undefined && c.adminPassword.length < c.passwordMinLength) {
    problems.push(`COFFER_ADMIN_PASSWORD is shorter than COFFER_PASSWORD_MIN_LENGTH (${c.passwordMinLength})`);
  }
  return problems;
}

/** For `coffer serve --help`: one line per setting. */
export function describeSettings(): string {
  return SETTINGS.map((s) => {
    const d = typeof s.default === 'function' ? '(derived)' : s.default === undefined ? '(unset)' : JSON.stringify(s.default);
    return `  ${s.env.padEnd(28)} ${s.help} [default ${d}]`;
  }).join('\n');
}
