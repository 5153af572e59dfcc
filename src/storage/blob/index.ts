import path from 'node:path';
import type { Config } from '../../config.js';
import type { BlobStore } from '../../objects/blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';

export type { BlobStore } from '../../objects/blob-store.js';

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
    ...(config.s3Credentials ? { credentials: config.s3Credentials } : {}),
  });
  const store = new S3BlobStore(client, config.s3Bucket, config.s3Prefix, config.s3BucketPerUser);
  await store.ensureBucket();
  return store;
}
