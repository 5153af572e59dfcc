/**
 * The older parcel API (SPEC §4, /api/v1/parcels) and the challenge of SPEC §2 it is signed with:
 * ask POST /api/v1/auth for a token bound to the operation, sign its bytes, send the three headers.
 */
import { sha256Hex, toHex } from './bytes.js';
import { jsonOf, type Transport } from './http.js';
import type { Signer } from './signing.js';
import type { ChallengeToken, ParcelCreated } from './types.js';

export type ParcelOperation = { name: 'upload'; hash: string } | { name: 'download' | 'remove'; id: string } | 'upload' | 'download' | 'remove';

export class ParcelsApi {
  constructor(private readonly http: Transport) {}

  /** A challenge token for `user` (a username, or a P-256 key's address) and one operation. */
  async challenge(user: string, operation: ParcelOperation): Promise<string> {
    return (await jsonOf<ChallengeToken>(await this.http.request('/api/v1/auth', { method: 'POST', auth: false, json: { user, operation } }))).token;
  }

  /** Challenge and signature in one: the headers of one signed request. */
  async signedHeaders(signer: Signer, user: string, operation: ParcelOperation): Promise<Record<string, string>> {
    return signer.signedHeaders(await this.challenge(user, operation));
  }

  /**
   * Uploads a parcel signed by `signer` for `user` (default: the key's address, for P-256 keys);
   * with `metadata`, as JSON with the data in hex, else as raw bytes. Answers its 72-digit id.
   */
  async upload(signer: Signer, data: Uint8Array, o: { user?: string; metadata?: Record<string, unknown> } = {}): Promise<string> {
    const user = userOf(signer, o.user);
    const headers = await this.signedHeaders(signer, user, { name: 'upload', hash: await sha256Hex(data) });
    const res = o.metadata
      ? await this.http.request('/api/v1/parcels', { method: 'POST', auth: false, headers, json: { metadata: o.metadata, data: toHex(data) } })
      : await this.http.request('/api/v1/parcels', { method: 'POST', auth: false, headers: { ...headers, 'content-type': 'application/octet-stream' }, body: data as Uint8Array<ArrayBuffer> });
    return (await jsonOf<ParcelCreated>(res)).id;
  }

  /** A parcel's bytes (its owner only). */
  async download(signer: Signer, id: string, o: { user?: string } = {}): Promise<Uint8Array> {
    const headers = await this.signedHeaders(signer, userOf(signer, o.user), { name: 'download', id });
    const res = await this.http.request(`/api/v1/parcels/${encodeURIComponent(id)}`, { auth: false, headers: { ...headers, accept: 'application/octet-stream' } });
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Removes a parcel (its owner only). */
  async remove(signer: Signer, id: string, o: { user?: string } = {}): Promise<void> {
    const headers = await this.signedHeaders(signer, userOf(signer, o.user), { name: 'remove', id });
    await (await this.http.request(`/api/v1/parcels/${encodeURIComponent(id)}`, { method: 'DELETE', auth: false, headers })).arrayBuffer();
  }

  /** A parcel's metadata, as uploaded (no proof needed). */
  async metadata(id: string): Promise<Record<string, unknown>> {
    const res = await this.http.request(`/api/v1/parcels/${encodeURIComponent(id)}`, { auth: false, query: { key: 'metadata' } });
    return (await jsonOf<{ metadata: Record<string, unknown> }>(res)).metadata;
  }

  /** A parcel's owner (no proof needed). */
  async owner(id: string): Promise<string | null> {
    const res = await this.http.request(`/api/v1/parcels/${encodeURIComponent(id)}`, { auth: false, query: { key: 'owner' } });
    return (await jsonOf<{ owner: string | null }>(res)).owner;
  }
}

function userOf(signer: Signer, user: string | undefined): string {
  const u = user ?? signer.address;
  if (!u) throw new TypeError('Say which user signs: { user } (only a P-256 key has an address to stand for it).');
  return u;
}
