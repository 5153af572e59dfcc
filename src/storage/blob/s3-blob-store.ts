/**
 * BlobStore on any S3-compatible store (AWS S3, Ceph RGW, MinIO). Uploads stream through
 * lib-storage's multipart Upload (parts of 5 MiB, 2 in flight: bounded memory), which aborts the
 * multipart upload when anything fails, so no parts are left behind. The SHA-256 is computed in
 * Coffer while the bytes pass (RGW does not check x-amz-checksum-*); a mismatch deletes the
 * freshly written object before anyone could know its key.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, ByteRange, PresignedRequest, PutOptions, PutResult } from '../../objects/blob-store.js';
import { checkSha256, HashingCounter } from '../../util/hashing.js';

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The tag on the users' buckets Coffer creates; its value is the base bucket (COFFER_S3_BUCKET). */
const OWNER_TAG = 'coffer-blob-store';

/** S3's smallest part: with two in flight an upload holds about 15 MiB, whatever its size. */
const PART_SIZE = 5 * 1024 * 1024;
/** S3's largest single PUT. */
const MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024;

export function createS3Client(s: S3Settings): S3Client {
  const config: S3ClientConfig = {
    region: s.region,
    forcePathStyle: s.forcePathStyle,
    // Streamed bodies would otherwise go out aws-chunked with trailing checksums, which Ceph RGW
    // (Pacific) refuses with 411; Coffer checks SHA-256 itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(s.credentials ? { credentials: s.credentials } : {}),
  };
  return new S3Client(config);
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
}

/**
 * The bucket of one user when each has their own: `{bucket}-{username}`, made a valid bucket name
 * (lowercase; other characters become "-"; at most 63 characters). Two names that map to one
 * bucket share it harmlessly: blob keys are random.
 */
export function userBucket(base: string, username: string): string {
  const suffix = username.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'user';
  return `${base}-${suffix}`.slice(0, 63).replace(/-+$/, '');
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  private readonly knownBuckets = new Set<string>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    /** Each user's blobs in a bucket of their own; the key then starts with "bucket/". */
    private readonly bucketPerUser = false,
  ) {}

  newKey(owner: string): string {
    const id = randomBytes(16).toString('hex');
    return this.bucketPerUser ? `${userBucket(this.bucket, owner)}/${id}` : id;
  }

  /** Where a blob key lives: its bucket and its object key. */
  private locate(key: string): { Bucket: string; Key: string } {
    let bucket = this.bucket;
    let id = key;
    if (this.bucketPerUser) {
      const slash = key.indexOf('/');
      [bucket, id] = [key.slice(0, slash), key.slice(slash + 1)];
    }
    return { Bucket: bucket, Key: this.prefix ? `${this.prefix.replace(/\/+$/, '')}/${id}` : id };
  }

  /**
   * Creates the bucket (the shared one, or one user's) when it does not exist yet. A user's
   * bucket that Coffer creates is tagged as Coffer's: only those are swept for orphans, never a
   * bucket of that name that was there before (and may hold someone else's objects).
   */
  async ensureBucket(bucket = this.bucket): Promise<void> {
    if (this.knownBuckets.has(bucket)) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const created = await this.client.send(new CreateBucketCommand({ Bucket: bucket })).then(
        () => true,
        (err: { name?: string }) => {
          if (err?.name !== 'BucketAlreadyOwnedByYou') throw err;
          return false; // another node made it a moment ago, and tags it
        },
      );
      if (created && bucket !== this.bucket) {
        await this.tagAsCoffers(bucket);
      }
    }
    this.knownBuckets.add(bucket);
  }

  /**
   * Tags a user's bucket Coffer has just made, trying three times. Untagged, it would never be
   * swept, nor tagged later (it exists): failing that, the bucket is taken back while it is still
   * empty, so that the next upload makes and tags it again.
   */
  private async tagAsCoffers(bucket: string): Promise<void> {
    const tagging = new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: OWNER_TAG, Value: this.bucket }] } });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(tagging);
        return;
      } catch (error) {
        if (attempt < 3) continue;
        await this.client.send(new DeleteBucketCommand({ Bucket: bucket })).catch((e: unknown) => {
          throw new Error(`bucket ${bucket} was made but could not be tagged (${(error as Error).message}) nor deleted (${(e as Error).message}): tag it ${OWNER_TAG}=${this.bucket} by hand so that it is swept`);
        });
        throw error;
      }
    }
  }

  /** Whether Coffer made this user's bucket (it carries Coffer's tag naming the base bucket). */
  private async madeByCoffer(bucket: string): Promise<boolean> {
    try {
      const { TagSet } = await this.client.send(new GetBucketTaggingCommand({ Bucket: bucket }));
      return (TagSet ?? []).some((t) => t.Key === OWNER_TAG && t.Value === this.bucket);
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'NoSuchTagSet' || name === 'NoSuchTagSetError' || isNotFound(e)) return false;
      throw e;
    }
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    await this.ensureBucket(this.locate(key).Bucket);
    const counter = new HashingCounter(options.maxBytes);
    if (options.size !== undefined && options.size <= MAX_SINGLE_PUT) await this.putStreamed(key, body, counter, options.size, options);
    else await this.putMultipart(key, body, counter, options);
    const sha256 = counter.digest();
    try {
      checkSha256(options.expectedSha256, sha256);
    } catch (e) {
      await this.delete(key);
      throw e;
    }
    return { size: counter.size, sha256 };
  }

  /**
   * A body of known length goes up as one streamed PutObject: no part buffers at all, and S3
   * stores it whole or not at all.
   */
  private async putStreamed(key: string, body: Readable, counter: HashingCounter, size: number, options: PutOptions): Promise<void> {
    // A body that fails (its client gone) or a caller that gives up ends the request to the store
    // at once; otherwise the store would wait out its own timeout for bytes that never come.
    const stop = new AbortController();
    const feeding = pipeline(body, counter, options.signal ? { signal: options.signal } : {});
    const sending = this.client.send(
      new PutObjectCommand({
        ...this.locate(key),
        Body: counter,
        ContentLength: size,
        ...(options.contentType ? { ContentType: options.contentType } : {}),
      }),
      { abortSignal: options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal },
    );
    try {
      await Promise.all([feeding, sending]);
    } catch (e) {
      stop.abort();
      counter.destroy();
      await Promise.allSettled([feeding, sending]);
      await this.delete(key).catch(() => {});
      throw e;
    }
  }

  /** A body of unknown length goes up in 5 MiB parts, two in flight. */
  private async putMultipart(key: string, body: Readable, counter: HashingCounter, options: PutOptions): Promise<void> {
    // lib-storage gathers whole parts itself; the streams before it need no more than their defaults.
    const pass = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: {
        ...this.locate(key),
        Body: pass,
        ...(options.contentType ? { ContentType: options.contentType } : {}),
      },
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const feeding = pipeline(body, counter, pass, options.signal ? { signal: options.signal } : {});
    try {
      await Promise.all([feeding, upload.done()]);
    } catch (e) {
      // Either side failed: stop the other, and leave no object and no parts behind.
      pass.destroy();
      await upload.abort().catch(() => {});
      await feeding.catch(() => {});
      await this.delete(key).catch(() => {});
      throw e;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ ...this.locate(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      return out.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand(this.locate(key)));
      return { size: out.ContentLength ?? 0 };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand(this.locate(key)));
  }

  async *list(): AsyncIterable<{ key: string; modifiedAt: number }> {
    if (!this.bucketPerUser) {
      yield* this.listBucket(this.bucket, '');
      return;
    }
    const { Buckets } = await this.client.send(new ListBucketsCommand({}));
    for (const b of Buckets ?? []) {
      if (b.Name?.startsWith(`${this.bucket}-`) && (await this.madeByCoffer(b.Name))) yield* this.listBucket(b.Name, `${b.Name}/`);
    }
  }

  private async *listBucket(bucket: string, keyPrefix: string): AsyncIterable<{ key: string; modifiedAt: number }> {
    const prefix = this.prefix ? `${this.prefix.replace(/\/+$/, '')}/` : '';
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: keyPrefix + o.Key.slice(prefix.length), modifiedAt: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async presign(key: string, method: 'GET' | 'PUT', expiresInSeconds: number, contentType?: string): Promise<PresignedRequest> {
    const params = this.locate(key);
    const command =
      method === 'GET' ? new GetObjectCommand(params) : new PutObjectCommand({ ...params, ...(contentType ? { ContentType: contentType } : {}) });
    const url = await getSignedUrl(this.client, command, { expiresIn: expiresInSeconds });
    return { url, method, headers: method === 'PUT' && contentType ? { 'content-type': contentType } : {} };
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
