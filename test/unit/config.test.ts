/** src/config.ts: defaults, validation messages, the JSON config file and its precedence (SPEC §5). */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'coffer-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function configFile(name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Asserts loadConfig throws a ConfigError whose message matches every pattern. */
function refuses(env: Record<string, string>, patterns: RegExp[], file?: string): void {
  assert.throws(
    () => loadConfig(env, file),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `a ConfigError, got ${String(e)}`);
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
}

test('defaults: 127.0.0.1:8080, ./coffer-data with SQLite under it, EdDSA, 2700 s tokens', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.dataDir, './coffer-data');
  assert.match(c.databaseUrl, /^sqlite:/);
  assert.equal(path.normalize(path.dirname(c.databaseUrl.slice('sqlite:'.length))), path.normalize('./coffer-data'));
  assert.equal(c.jwtAlgorithm, 'EdDSA');
  assert.equal(c.accessTokenTtl, 2700);
  assert.equal(c.adminUser, 'admin');
  assert.equal(c.adminPassword, undefined);
  assert.equal(c.openRegistration, false);
  assert.equal(c.jwtAudience, undefined);
  assert.equal(c.jwtSecret, undefined);
  assert.equal(c.bodyLimitBytes, 64 * 1024);
  assert.equal(c.kvMaxBytes, 1024 * 1024);
  assert.equal(c.headersTimeoutMs, 10_000);
  assert.equal(c.bodyTimeoutMs, 60_000);
  assert.equal(c.loginMaxFailures, 5);
  assert.equal(c.loginWindowSeconds, 900);
  assert.deepEqual(c.corsOrigins, []);
});

test('loadConfig reads the given env, not process.env', () => {
  const saved = process.env.COFFER_PORT;
  process.env.COFFER_PORT = '9999';
  try {
    assert.equal(loadConfig({}).port, 8080);
  } finally {
    if (saved === undefined) delete process.env.COFFER_PORT;
    else process.env.COFFER_PORT = saved;
  }
});

test('environment values are parsed', () => {
  const c = loadConfig({
    COFFER_PORT: '9090',
    COFFER_HOST: '0.0.0.0',
    COFFER_DATA_DIR: '/srv/coffer',
    COFFER_OPEN_REGISTRATION: 'true',
    COFFER_JWT_ALG: 'ES256',
    COFFER_CORS_ORIGINS: 'https://a.example, https://b.example',
    COFFER_ADMIN_PASSWORD: 'long-enough-password',
  });
  assert.equal(c.port, 9090);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.dataDir, '/srv/coffer');
  assert.equal(c.databaseUrl, 'sqlite:/srv/coffer/coffer.db');
  assert.equal(c.openRegistration, true);
  assert.equal(c.jwtAlgorithm, 'ES256');
  assert.deepEqual(c.corsOrigins, ['https://a.example', 'https://b.example']);
  assert.equal(c.adminPassword, 'long-enough-password');
  assert.equal(loadConfig({ COFFER_OPEN_REGISTRATION: 'false' }).openRegistration, false);
  assert.equal(loadConfig({ COFFER_DATABASE_URL: 'postgres://u@db:5432/coffer' }).databaseUrl, 'postgres://u@db:5432/coffer');
});

test('COFFER_PORT=abc is refused, naming the variable and the accepted values', () => {
  refuses({ COFFER_PORT: 'abc' }, [/COFFER_PORT/, /abc/, /whole number from 0 to 65535/]);
  refuses({ COFFER_PORT: '70000' }, [/COFFER_PORT/, /0 to 65535/]);
  refuses({ COFFER_PORT: '80.5' }, [/COFFER_PORT/]);
  refuses({ COFFER_PORT: '-1' }, [/COFFER_PORT/]);
});

test('COFFER_JWT_ALG=none is refused, listing the algorithms', () => {
  refuses({ COFFER_JWT_ALG: 'none' }, [/COFFER_JWT_ALG/, /none/, /EdDSA/, /ES256/, /RS256/, /HS256/]);
  refuses({ COFFER_JWT_ALG: 'HS512' }, [/COFFER_JWT_ALG/]);
});

test('COFFER_OPEN_REGISTRATION=maybe is refused, saying true or false', () => {
  refuses({ COFFER_OPEN_REGISTRATION: 'maybe' }, [/COFFER_OPEN_REGISTRATION/, /maybe/, /true or false/]);
});

test('every bad setting is named in one error', () => {
  refuses({ COFFER_PORT: 'abc', COFFER_JWT_ALG: 'none', COFFER_OPEN_REGISTRATION: 'maybe' }, [
    /COFFER_PORT/,
    /COFFER_JWT_ALG/,
    /COFFER_OPEN_REGISTRATION/,
  ]);
});

test('other settings are validated too', () => {
  refuses({ COFFER_LOG_LEVEL: 'loud' }, [/COFFER_LOG_LEVEL/, /info/]);
  refuses({ COFFER_ADMIN_USER: 'bad name' }, [/COFFER_ADMIN_USER/]);
  refuses({ COFFER_DATABASE_URL: 'mysql://x' }, [/COFFER_DATABASE_URL/, /sqlite/, /postgres/]);
  refuses({ COFFER_ACCESS_TOKEN_TTL: '5' }, [/COFFER_ACCESS_TOKEN_TTL/]);
  refuses({ COFFER_TLS_CERT: '/tmp/cert.pem' }, [/COFFER_TLS_CERT/, /COFFER_TLS_KEY/]);
  refuses({ COFFER_ADMIN_PASSWORD: 'ab' }, [/COFFER_ADMIN_PASSWORD/]);
});

test('a refused secret is never echoed: the error names the setting and the length only', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['COFFER_SECRET_KEY', 'short-but-real-secret-key-1234', /at least 32/],
    ['COFFER_METRICS_TOKEN', 'tok-123456', /at least 16/],
    ['COFFER_DATABASE_URL', 'mysql://app:hunter2-password@db/coffer', /sqlite/],
  ];
  for (const [name, value, why] of cases) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, new RegExp(`${name}=\\(hidden, ${[...value].length} characters\\)`));
        assert.match(e.message, why);
        assert.ok(!e.message.includes(value) && !e.message.includes('hunter2'), `${name}'s value stays out of the message`);
        return true;
      },
    );
  }
});

test('HS256 needs a secret of at least 32 bytes', () => {
  refuses({ COFFER_JWT_ALG: 'HS256' }, [/COFFER_JWT_SECRET/, /32/]);
  refuses({ COFFER_JWT_ALG: 'HS256', COFFER_JWT_SECRET: 'x'.repeat(31) }, [/COFFER_JWT_SECRET/, /32/]);
  const c = loadConfig({ COFFER_JWT_ALG: 'HS256', COFFER_JWT_SECRET: 'x'.repeat(32) });
  assert.equal(c.jwtAlgorithm, 'HS256');
  assert.equal(c.jwtSecret, 'x'.repeat(32));
  // A secret with an asymmetric algorithm is a mistake, not silently ignored.
  refuses({ COFFER_JWT_SECRET: 'x'.repeat(40) }, [/COFFER_JWT_SECRET/]);
});

test('a JSON config file is read, and the environment overrides it', async () => {
  const file = await configFile('coffer.json', {
    port: 9191,
    host: '0.0.0.0',
    data_dir: '/var/lib/coffer',
    open_registration: true,
    jwt_alg: 'RS256',
    access_token_ttl: 600,
    cors_origins: ['https://x.example', 'https://y.example'],
  });
  const fromFile = loadConfig({}, file);
  assert.equal(fromFile.port, 9191);
  assert.equal(fromFile.host, '0.0.0.0');
  assert.equal(fromFile.dataDir, '/var/lib/coffer');
  assert.equal(fromFile.databaseUrl, 'sqlite:/var/lib/coffer/coffer.db');
  assert.equal(fromFile.openRegistration, true);
  assert.equal(fromFile.jwtAlgorithm, 'RS256');
  assert.equal(fromFile.accessTokenTtl, 600);
  assert.deepEqual(fromFile.corsOrigins, ['https://x.example', 'https://y.example']);

  const overridden = loadConfig({ COFFER_PORT: '7000', COFFER_OPEN_REGISTRATION: 'false', COFFER_JWT_ALG: 'EdDSA' }, file);
  assert.equal(overridden.port, 7000);
  assert.equal(overridden.openRegistration, false);
  assert.equal(overridden.jwtAlgorithm, 'EdDSA');
  assert.equal(overridden.host, '0.0.0.0');

  // COFFER_CONFIG names the file when no second argument is given.
  assert.equal(loadConfig({ COFFER_CONFIG: file }).port, 9191);
});

test('an unknown key in the config file is refused', async () => {
  const file = await configFile('typo.json', { port: 8081, prot: 8082 });
  refuses({}, [/prot/, /unknown/i], file);
});

test('a bad value in the config file is refused, naming the key and the file', async () => {
  const file = await configFile('badvalue.json', { jwt_alg: 'none' });
  refuses({}, [/jwt_alg/, /badvalue\.json/, /EdDSA/], file);
  // ...unless the environment overrides it with a good one.
  assert.equal(loadConfig({ COFFER_JWT_ALG: 'EdDSA' }, file).jwtAlgorithm, 'EdDSA');
});

test('an unreadable or non-object config file is refused with a ConfigError', async () => {
  refuses({}, [/missing\.json/], path.join(dir, 'missing.json'));
  refuses({}, [/broken\.json/], await configFile('broken.json', '{"port": '));
  refuses({}, [/array\.json/], await configFile('array.json', '[1, 2]'));
});

test('key-holding clients: self-registration follows open registration unless set; storage id and limits validated', () => {
  const d = loadConfig({});
  assert.deepEqual([d.challengeTtl, d.pubkeySelfRegistration, d.parcelStorageId, d.parcelJsonMaxBytes], [60, false, '00000001', 64 * 1024 * 1024]);
  assert.equal(loadConfig({ COFFER_OPEN_REGISTRATION: 'true' }).pubkeySelfRegistration, true);
  assert.equal(loadConfig({ COFFER_OPEN_REGISTRATION: 'true', COFFER_PUBKEY_SELF_REGISTRATION: 'false' }).pubkeySelfRegistration, false);
  assert.equal(loadConfig({ COFFER_PUBKEY_SELF_REGISTRATION: 'true' }).pubkeySelfRegistration, true);
  assert.equal(loadConfig({ COFFER_PARCEL_STORAGE_ID: 'abcdef01' }).parcelStorageId, 'ABCDEF01');
  assert.throws(() => loadConfig({ COFFER_PARCEL_STORAGE_ID: '123' }), (e: unknown) => e instanceof ConfigError && /COFFER_PARCEL_STORAGE_ID.*8 hex digits/.test(e.message));
  assert.throws(() => loadConfig({ COFFER_CHALLENGE_TTL: '0' }), /COFFER_CHALLENGE_TTL/);
});

test('COFFER_ADMIN_USER follows the API\'s username rule: "." and ".." are refused (such an admin could never log in)', () => {
  for (const name of ['.', '..', 'a b']) {
    assert.throws(() => loadConfig({ COFFER_ADMIN_USER: name }), (e: unknown) => e instanceof ConfigError && /COFFER_ADMIN_USER.*not "\." or "\.\."/.test(e.message), name);
  }
  assert.equal(loadConfig({ COFFER_ADMIN_USER: 'root.admin' }).adminUser, 'root.admin');
});
