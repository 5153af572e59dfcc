/**
 * A test server on each blob backend, with a look at what it keeps: the blobs it stored and the
 * half-written ones. The HTTP suites that are about bytes (objects, parcels) run on both.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { freshBucket, type Rgw } from './ceph.js';
import { startServer, type TestServer } from './server.js';

export interface BackendFixture {
  server: TestServer;
  /** Every stored blob: files under <dataDir>/blobs (fs) or keys in the bucket (S3). */
  blobs(): Promise<string[]>;
  /** Half-written blobs: `.tmp-*` files (fs) or multipart uploads in progress (S3). */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

export async function openFsBackend(env: Record<string, string> = {}): Promise<BackendFixture> {
  const server = await startServer(env);
  const root = path.join(server.dataDir, 'blobs');
  const names = async () => {
    try {
      return (await readdir(root, { recursive: true })).map(String);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  };
  return {
    server,
    // blob files are named by their 16+ character key; the shard directories have 2
    blobs: async () => (await names()).filter((n) => /^[0-9a-z]{16,}$/.test(path.basename(n))).sort(),
    leftovers: async () => (await names()).filter((n) => path.basename(n).startsWith('.tmp-')),
    close: () => server.close(),
  };
}

export async function openS3Backend(rgw: Rgw, bucketPrefix: string, env: Record<string, string> = {}): Promise<BackendFixture> {
  const bucket = freshBucket(bucketPrefix);
  const server = await startServer({ ...rgw.settings(bucket), ...env });
  const client = new S3Client({
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    server,
    async blobs() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async leftovers() {
      const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (out.Uploads ?? []).map((u) => `multipart upload ${u.Key} (${u.UploadId})`);
    },
    async close() {
      await server.close();
      client.destroy();
    },
  };
}

/** Polls `check` until it passes or `ms` ran out (then its last failure is thrown). */
export async function eventually(check: () => Promise<void>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}
