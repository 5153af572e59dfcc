import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config.js';
import { ConfigError } from '../../config.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

export type { BlobStore } from './blob-store.js';

/** Credentials from a key.json `{"access_key","secret_key"}` (the AMO adapter's format). */
async function readKeyFile(file: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  let parsed: { access_key?: unknown; secret_key?: unknown };
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as typeof parsed;
  } catch (e) {
    throw new ConfigError(`COFFER_S3_KEY_FILE: cannot read ${file} as JSON: ${(e as Error).message}`);
  }
  if (typeof parsed.access_key !== 'string' || typeof parsed.secret_key !== 'string') {
    throw new ConfigError(`COFFER_S3_KEY_FILE: ${file} must hold {"access_key": "...", "secret_key": "..."}`);
  }
  return { accessKeyId: parsed.access_key, secretAccessKey: parsed.secret_key };
}

export async function createBlobStore(config: Config): Promise<BlobStore> {
  if (config.storageBackend === 'fs') return new FsBlobStore(path.join(config.dataDir, 'blobs'));
  // Loaded only when used: the AWS SDK is a good part of an idle process's memory.
  const { createS3Client, S3BlobStore } = await import('./s3-blob-store.js');
  const client = createS3Client({
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    bucket: config.s3Bucket,
    prefix: config.s3Prefix,
    forcePathStyle: config.s3ForcePathStyle,
    ...(config.s3KeyFile ? { credentials: await readKeyFile(config.s3KeyFile) } : {}),
  });
  const store = new S3BlobStore(client, config.s3Bucket, config.s3Prefix, config.s3BucketPerUser);
  await store.ensureBucket();
  return store;
}
