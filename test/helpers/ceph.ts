/**
 * A real Ceph RADOS Gateway for the S3 tests: the one named by COFFER_TEST_S3_ENDPOINT (with
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or a throwaway one booted by scripts/ceph-rgw.sh on
 * free ports and stopped afterwards. Needs the Debian packages: `scripts/ceph-rgw.sh install`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../bench/lib.js';

const run = promisify(execFile);
const SCRIPT = path.resolve('scripts/ceph-rgw.sh');

export interface Rgw {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The COFFER_* settings of a server that keeps its blobs in `bucket` of this gateway. */
  settings(bucket: string): Record<string, string>;
  stop(): Promise<void>;
}

/** A fresh bucket name for one test server: `prefix` plus random hex. */
export function freshBucket(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Credentials go through a key.json (as the AMO adapter kept them), written once into `dir`,
 * which the gateway's stop() removes.
 */
async function withSettings(rgw: Omit<Rgw, 'settings'>, dir: string): Promise<Rgw> {
  const keyFile = path.join(dir, 'key.json');
  await writeFile(keyFile, JSON.stringify({ access_key: rgw.accessKeyId, secret_key: rgw.secretAccessKey }), { mode: 0o600 });
  return {
    ...rgw,
    settings: (bucket) => ({
      COFFER_STORAGE_BACKEND: 's3',
      COFFER_S3_ENDPOINT: rgw.endpoint,
      COFFER_S3_FORCE_PATH_STYLE: 'true',
      COFFER_S3_BUCKET: bucket,
      COFFER_S3_KEY_FILE: keyFile,
    }),
  };
}

export async function startRgw(): Promise<Rgw> {
  const given = process.env.COFFER_TEST_S3_ENDPOINT;
  const parent = await mkdtemp(path.join(tmpdir(), 'coffer-rgw-'));
  if (given) {
    return withSettings(
      {
        endpoint: given,
        accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? '',
        stop: () => rm(parent, { recursive: true, force: true }),
      },
      parent,
    );
  }
  const dir = path.join(parent, 'ceph');
  const env = { ...process.env, RGW_PORT: String(await freePort()), MON_PORT: String(await freePort()) };
  try {
    await run('bash', [SCRIPT, 'up', dir], { env, timeout: 120_000 });
  } catch (e) {
    throw new Error(`could not boot Ceph RGW (install it with: bash scripts/ceph-rgw.sh install): ${(e as { stderr?: string }).stderr ?? e}`);
  }
  const vars = Object.fromEntries(
    [...(await readFile(path.join(dir, 'env'), 'utf8')).matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]),
  );
  return withSettings(
    {
      endpoint: vars.S3_ENDPOINT!,
      accessKeyId: vars.AWS_ACCESS_KEY_ID!,
      secretAccessKey: vars.AWS_SECRET_ACCESS_KEY!,
      async stop() {
        await run('bash', [SCRIPT, 'down', dir], { env, timeout: 60_000 });
        await rm(parent, { recursive: true, force: true });
      },
    },
    parent,
  );
}
