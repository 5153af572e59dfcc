/**
 * Presigned URLs (SPEC §4): a URL that needs no token. On S3 it is the store's own presigned URL
 * (the client talks to S3 directly; a PUT is recorded as pending and indexed when first seen). On
 * the filesystem Coffer signs the URL itself, HMAC-SHA256 over method, owner, path, expiry and
 * the owner's token version with a per-installation secret, and serves it at /v1/presigned/{path}.
 *
 * A URL never does more than its maker's token could (SPEC §2): presigning needs the object
 * scope of the method too. A Coffer-signed URL is also checked when used: its maker must still
 * exist, be enabled and hold that scope, and a password change or a disable (which bump the
 * token version) kills every URL they signed. An S3 URL is the store's: only its expiry bounds it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAX_ASSERTION_SECONDS } from '../auth/assertions.js';
import type { Principal } from '../auth/tokens.js';
import { badRequest, CofferError, forbidden, insufficientScope, invalidToken } from '../errors.js';
import { parseObjectPath, type ObjectPath } from '../paths/key-path.js';
import type { BlobStore } from '../objects/blob-store.js';
import { effectiveGrants, type Scope } from '../users/scopes.js';
import type { UserRecord, UserStore } from '../users/user-store.js';
import { epochSeconds, type Clock } from '../util/clock.js';
import type { ObjectService } from './object-service.js';

export const MAX_PRESIGN_SECONDS = 7 * 86_400;
const DEFAULT_PRESIGN_SECONDS = 3600;
export const PRESIGNED_ROUTE = '/v1/presigned/';

export interface PresignInput {
  path?: unknown;
  file?: unknown;
  method?: unknown;
  expires_in?: unknown;
  content_type?: unknown;
  user?: unknown;
}

export interface PresignAnswer {
  url: string;
  method: 'GET' | 'PUT';
  headers: Record<string, string>;
  expires_at: string;
  presigned_url: string;
}

/** What a Coffer-signed URL grants, once its signature, expiry and maker have checked out. */
export interface PresignedGrant {
  owner: UserRecord;
  path: ObjectPath;
  method: 'GET' | 'PUT';
}

/** The object scope a presigned method needs, beyond `presign` itself. */
const SCOPE_OF_METHOD: Record<'GET' | 'PUT', Scope> = { GET: 'objects:read', PUT: 'objects:write' };

const refusedUrl = (message: string, code: 'presigned_url_invalid' | 'presigned_url_expired' | 'forbidden' = 'presigned_url_invalid') => new CofferError(code, message);

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function parseExpiresIn(raw: unknown, max: number): number {
  if (raw === undefined) return Math.min(DEFAULT_PRESIGN_SECONDS, max);
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > max) {
    const limit = max === MAX_PRESIGN_SECONDS ? `${MAX_PRESIGN_SECONDS} (7 days)` : `${max} (the most a client-signed assertion may ask for)`;
    throw badRequest(`"expires_in" must be whole seconds from 1 to ${limit}.`);
  }
  return n;
}

/**
 * The presign prototype's client sends the local file name as `file`, as typed: `./a.bin` and
 * `/tmp/a.bin` name the object `a.bin` and `tmp/a.bin`.
 */
function fileAlias(file: string): string {
  return file.replace(/^(?:\.?\/)+/, '');
}

export class PresignService {
  constructor(
    private readonly users: UserStore,
    private readonly blobs: BlobStore,
    private readonly objects: ObjectService,
    private readonly secret: Buffer,
    private readonly clock: Clock,
  ) {}

  /**
   * A URL for `caller`. One signed by a client-signed assertion lives at most as long as an
   * assertion may (it is replayable until then), and its "user" must be the assertion's sub.
   */
  async presign(caller: Pick<Principal, 'user' | 'via' | 'scopes'>, input: PresignInput, baseUrl: string): Promise<PresignAnswer> {
    const { user } = caller;
    const byAssertion = caller.via === 'assertion';
    const rawPath = input.path ?? (typeof input.file === 'string' ? fileAlias(input.file) : input.file);
    if (typeof rawPath !== 'string' || rawPath === '') throw badRequest('Send the object\'s "path" (alias "file").');
    const path = parseObjectPath(rawPath);
    // The presign prototype's client sends {"file","user"} and means an upload.
    const method = input.method === undefined ? (input.file !== undefined && input.path === undefined ? 'PUT' : 'GET') : input.method;
    if (method !== 'GET' && method !== 'PUT') throw badRequest('"method" must be "GET" or "PUT".');
    if (!caller.scopes.has(SCOPE_OF_METHOD[method])) throw insufficientScope(SCOPE_OF_METHOD[method]);
    if (method === 'PUT') this.objects.assertWritable(path);
    if (input.user !== undefined && input.user !== user.username) {
      // For an assertion a foreign "user" is a refused assertion (401), for a token a forbidden request.
      if (byAssertion) throw invalidToken(`The assertion was signed for "${user.username}", not "${String(input.user)}".`);
      throw forbidden('"user" names another user; you can presign only your own objects.');
    }
    if (input.content_type !== undefined && typeof input.content_type !== 'string') throw badRequest('"content_type" must be a string.');
    const expiresIn = parseExpiresIn(input.expires_in, byAssertion ? MAX_ASSERTION_SECONDS : MAX_PRESIGN_SECONDS);
    const expiresAt = epochSeconds(this.clock) + expiresIn;

    let url: string;
    let headers: Record<string, string> = {};
    if (this.blobs.presign) {
      const blobKey =
        method === 'GET'
          ? (await this.objects.get(user.id, path)).blobKey
          : await this.objects.expectDirectUpload(user, path, input.content_type, expiresAt * 1000);
      ({ url, headers } = await this.blobs.presign(blobKey, method, expiresIn, input.content_type));
    } else {
      if (method === 'GET') await this.objects.get(user.id, path); // 404 now rather than at use
      const signature = this.sign(method, user.id, path, expiresAt, user.tokenVersion);
      const query = new URLSearchParams({ owner: user.id, method, expires: String(expiresAt), signature });
      url = `${baseUrl.replace(/\/+$/, '')}${PRESIGNED_ROUTE}${encodePath(path)}?${query}`;
    }
    return { url, method, headers, expires_at: new Date(expiresAt * 1000).toISOString(), presigned_url: url };
  }

  private sign(method: string, ownerId: string, path: string, expiresAt: number, tokenVersion: number): string {
    return createHmac('sha256', this.secret).update(`${method}\n${ownerId}\n${path}\n${expiresAt}\n${tokenVersion}`).digest('base64url');
  }

  /**
   * Checks a Coffer-signed URL used for `method` on `path`: its signature (which covers the
   * maker's token version, so a password change or a disable kills it), its expiry, and that its
   * maker may still do what it grants. Throws 403 otherwise.
   */
  async authorize(method: 'GET' | 'PUT', path: ObjectPath, query: Record<string, unknown>): Promise<PresignedGrant> {
    const { owner: ownerId, expires, signature } = query;
    const signedMethod = query.method;
    if (typeof ownerId !== 'string' || typeof expires !== 'string' || typeof signature !== 'string' || typeof signedMethod !== 'string') {
      throw refusedUrl('This presigned URL is incomplete; ask for a new one (POST /v1/presign).');
    }
    const owner = /^[0-9a-f-]{36}$/.test(ownerId) ? await this.users.getById(ownerId) : undefined;
    const given = Buffer.from(signature);
    const expected = /^\d+$/.test(expires) ? Buffer.from(this.sign(signedMethod, ownerId, path, Number(expires), owner?.tokenVersion ?? 0)) : Buffer.alloc(0);
    if (expected.length === 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw refusedUrl('The signature of this presigned URL does not match: it was altered, or its maker changed their password since.');
    }
    if (signedMethod !== method) throw refusedUrl(`This URL was signed for ${signedMethod}, not ${method}.`);
    if (Number(expires) * 1000 <= this.clock.now()) throw refusedUrl('This presigned URL has expired; ask for a new one.', 'presigned_url_expired');
    if (!owner || owner.disabled) throw refusedUrl('The account that signed this URL is disabled or gone.', 'forbidden');
    const scope = SCOPE_OF_METHOD[method];
    if (!effectiveGrants(owner).includes(scope)) throw refusedUrl(`The account that signed this URL no longer holds the "${scope}" scope.`, 'forbidden');
    return { owner, path, method };
  }
}
