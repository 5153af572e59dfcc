/**
 * coffer/client: the TypeScript client of Coffer's HTTP API (SPEC §2–4), for Node 20+ and
 * browsers. It uses the global fetch, WebCrypto and web streams only; its types come from the
 * route schemas (types.ts), so it never drifts from the server and pulls no server code into a
 * bundle.
 *
 *   const coffer = new Coffer({ url: 'http://127.0.0.1:8080' });
 *   await coffer.login('alain', 'a-long-password');
 *   await coffer.kv.put('notes/today', { todo: ['milk'] });
 */
import { toBase64, utf8 } from './bytes.js';
import { CofferError } from './errors.js';
import { jsonOf, Transport, type SessionTokens } from './http.js';
import { KvApi } from './kv.js';
import { ObjectsApi } from './objects.js';
import { ParcelsApi } from './parcels.js';
import type {
  Introspection,
  JwkSet,
  KeyView,
  NewUserBody,
  PresignAnswer,
  Registered,
  Rotated,
  TokenAnswer,
  UserPatchBody,
  UserView,
  VerifyAnswer,
} from './types.js';
import { encodePath } from './bytes.js';
import type { Signer } from './signing.js';

export { CofferError, type CofferErrorCode } from './errors.js';
export type { SessionTokens } from './http.js';
export type * from './types.js';
export type { KvGetAnswer, KvBytesAnswer, KvPutOptions, KvWriteAnswer } from './kv.js';
export type { UploadOptions, DownloadOptions, Download, UploadedObject, ObjectListOptions } from './objects.js';
export type { UploadBody } from './streams.js';
export { importSigner, type Signer, type SignerKeyType, type ImportSignerOptions } from './signing.js';
export type { ParcelOperation } from './parcels.js';

export interface CofferOptions {
  /** The server, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  url: string;
  accessToken?: string;
  refreshToken?: string;
  /** When the access token expires (epoch ms), if known: it is then refreshed beforehand. */
  expiresAt?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
  /** Called after login, refresh and logout (undefined: no session) so the session can be kept. */
  onTokens?: (tokens: SessionTokens | undefined) => void;
}

export interface PresignOptions {
  path: string;
  method: 'GET' | 'PUT';
  /** Seconds, 1 to 604800 (default 3600). */
  expiresIn?: number;
  contentType?: string;
  /** Sign with a JWT assertion of this key instead of the session (SPEC §2, client-signed assertions). */
  assertion?: { signer: Signer; username: string; lifetime?: number };
}

export class Coffer {
  readonly url: string;
  readonly kv: KvApi;
  readonly objects: ObjectsApi;
  /** The older parcel API of SPEC §4, signed with a key through the challenge flow of §2. */
  readonly parcels: ParcelsApi;
  readonly keys: {
    add(key: string | Uint8Array, options?: { label?: string; username?: string }): Promise<KeyView>;
    list(): Promise<KeyView[]>;
    remove(id: string): Promise<void>;
  };
  readonly users: {
    create(user: { username: string; password: string; admin?: boolean; grants?: string[] | string }): Promise<UserView>;
    list(): Promise<UserView[]>;
    get(username: string): Promise<UserView>;
    update(username: string, patch: UserPatchBody): Promise<UserView>;
    delete(username: string): Promise<void>;
  };
  private readonly http: Transport;

  constructor(options: CofferOptions) {
    this.http = new Transport(options);
    this.url = this.http.url;
    this.kv = new KvApi(this.http);
    this.objects = new ObjectsApi(this.http);
    this.parcels = new ParcelsApi(this.http);
    const http = this.http;

    this.keys = {
      async add(key, o = {}) {
        const body = { key: typeof key === 'string' ? key : toBase64(key), ...(o.label !== undefined ? { label: o.label } : {}) };
        const where = o.username === undefined ? '/v1/keys' : `/v1/users/${encodeURIComponent(o.username)}/keys`;
        return jsonOf<KeyView>(await http.request(where, { method: 'POST', json: body }));
      },
      async list() {
        return (await jsonOf<{ keys: KeyView[] }>(await http.request('/v1/keys'))).keys;
      },
      async remove(id) {
        await drain(await http.request(`/v1/keys/${encodeURIComponent(id)}`, { method: 'DELETE' }));
      },
    };

    const userPath = (name: string) => `/v1/users/${encodeURIComponent(name)}`;
    this.users = {
      async create(u) {
        return jsonOf<UserView>(await http.request('/v1/users', { method: 'POST', json: u satisfies NewUserBody }));
      },
      async list() {
        return (await jsonOf<{ users: UserView[] }>(await http.request('/v1/users'))).users;
      },
      async get(username) {
        return jsonOf<UserView>(await http.request(userPath(username)));
      },
      async update(username, patch) {
        return jsonOf<UserView>(await http.request(userPath(username), { method: 'PATCH', json: patch }));
      },
      async delete(username) {
        await drain(await http.request(userPath(username), { method: 'DELETE' }));
      },
    };
  }

  /** The session held now (a copy), or undefined. */
  tokens(): SessionTokens | undefined {
    return this.http.tokens();
  }

  /** Logs in with a password, as JSON fields or (basic: true) HTTP Basic; `scope` narrows the token. */
  async login(username: string, password: string, options: { scope?: string; basic?: boolean } = {}): Promise<TokenAnswer> {
    const res = options.basic
      ? await this.http.request('/v1/login', {
          method: 'POST',
          auth: false,
          query: { scope: options.scope },
          headers: { authorization: `Basic ${toBase64(utf8(`${username}:${password}`))}` },
        })
      : await this.http.request('/v1/login', { method: 'POST', auth: false, json: { username, password, ...(options.scope !== undefined ? { scope: options.scope } : {}) } });
    const answer = await jsonOf<TokenAnswer>(res);
    this.http.adopt(answer);
    return answer;
  }

  /** Signs up (only on a server with open registration). Does not log in. */
  async register(username: string, password: string): Promise<Registered> {
    return jsonOf<Registered>(await this.http.request('/v1/register', { method: 'POST', auth: false, json: { username, password } }));
  }

  /** A new token pair from the refresh token. Concurrent callers share one refresh. */
  refresh(): Promise<TokenAnswer> {
    return this.http.refresh();
  }

  /** Revokes the access token and its session on the server, and forgets them here. */
  async logout(): Promise<void> {
    const session = this.http.tokens();
    if (!session) return;
    try {
      await drain(await this.http.request('/v1/logout', { method: 'POST', json: session.refreshToken ? { refresh_token: session.refreshToken } : {} }));
    } catch (e) {
      // A session the server has ended already is as logged out as it gets.
      if (!(e instanceof CofferError && e.status === 401)) throw e;
    } finally {
      this.http.clear();
    }
  }

  /** The claims of the access token, when the server takes it (GET /v1/verify, 202). */
  async verify(): Promise<VerifyAnswer> {
    return jsonOf<VerifyAnswer>(await this.http.request('/v1/verify'));
  }

  /** RFC 7662 introspection of `token` (default: the client's own access token). */
  async introspect(token?: string): Promise<Introspection> {
    const t = token ?? this.http.tokens()?.accessToken;
    return jsonOf<Introspection>(await this.http.request('/v1/introspect', { method: 'POST', json: { token: t } }));
  }

  /** The caller's own record. */
  async me(): Promise<UserView> {
    return jsonOf<UserView>(await this.http.request('/v1/users/me'));
  }

  /** The public keys that verify Coffer's access tokens. */
  async jwks(): Promise<JwkSet> {
    return jsonOf<JwkSet>(await this.http.request('/.well-known/jwks.json', { auth: false }));
  }

  /** Admin: start signing tokens with a new key. */
  async rotateSigningKey(): Promise<Rotated> {
    return jsonOf<Rotated>(await this.http.request('/v1/admin/signing-keys/rotate', { method: 'POST' }));
  }

  /** A URL for one object that needs no token (GET to read it, PUT to write it). */
  async presign(o: PresignOptions): Promise<PresignAnswer> {
    const body = {
      path: o.path,
      method: o.method,
      ...(o.expiresIn !== undefined ? { expires_in: o.expiresIn } : {}),
      ...(o.contentType !== undefined ? { content_type: o.contentType } : {}),
    };
    if (o.assertion) {
      const jwt = await o.assertion.signer.assertion(o.assertion.username, o.assertion.lifetime);
      return jsonOf<PresignAnswer>(await this.http.request('/v1/presign', { method: 'POST', auth: false, headers: { authorization: `Bearer ${jwt}` }, json: body }));
    }
    return jsonOf<PresignAnswer>(await this.http.request('/v1/presign', { method: 'POST', json: body }));
  }

  /** Percent-encodes a key or path for a URL (segments encoded, slashes kept). */
  static encodePath(path: string): string {
    return encodePath(path);
  }
}

/** Reads an answer's body to its end (so the connection is reused). */
async function drain(res: Response): Promise<void> {
  await res.arrayBuffer().catch(() => undefined);
}
