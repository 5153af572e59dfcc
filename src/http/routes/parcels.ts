/**
 * The older parcel API (SPEC §4) and its challenge (SPEC §2): what AMO's clients speak. Requests
 * prove their caller with the challenge headers, checked at onRequest (before any body is read).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import type { ChallengeGrant, OperationName } from '../../parcels/challenges.js';
import { badRequest, forbidden } from '../../errors.js';
import { jsonTooLarge, readParcelJson } from '../../parcels/parcel-json.js';
import { parseParcelId } from '../../parcels/parcel-id.js';
import { parcelMetadata } from '../../parcels/parcel-service.js';
import type { ObjectRecord } from '../../objects/object-index.js';
import type { ParcelRecord } from '../../parcels/parcel-store.js';
import { isAddressName } from '../../users/username.js';
import { bodyFields, isJson, mediaType } from '../body.js';
import { hexOf } from '../../util/hex.js';
import { prefers, single, type Query } from '../request-parts.js';
import { answers, Bytes, formOrJson, NoContent, signed } from '../schemas/common.js';
import { ChallengeBody, ChallengeToken, ParcelCreated, ParcelId, ParcelQuery, ParcelRead, ParcelUploadJson, SignedHeaders } from '../schemas/parcels.js';
import { StreamedBody } from '../schemas/objects.js';
import { acceptStreamedBodies, bodyStream, sendObject, uploadOptions } from '../object-transfer.js';

declare module 'fastify' {
  interface FastifyRequest {
    challenge: ChallengeGrant | null;
    /** The route's parcel id, checked and uppercased. */
    parcelId: string | null;
  }
  interface FastifyContextConfig {
    /** The operation a signed request must hold a challenge for. */
    challenge?: OperationName;
  }
}

const tags = ['parcels (AMO)'];

/** POST /api/v1/auth: a challenge token (SPEC §2). */
export function challengeRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/api/v1/auth',
    {
      config: { rateLimit: {} },
      schema: {
        tags,
        summary: 'A challenge token: {"user","operation"} → {"token"}; sign its bytes with your key',
        body: formOrJson(ChallengeBody),
        response: answers({ 200: ChallengeToken }),
      },
    },
    (request) => s.challenges.issue(bodyFields(request)),
  );
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function parcelIdOf(request: FastifyRequest): string {
  if (!request.parcelId) throw new Error('parcelIdOf() on a route without :id');
  return request.parcelId;
}

function grantOf(request: FastifyRequest): ChallengeGrant {
  if (!request.challenge) throw new Error('grantOf() on a route without a challenge');
  return request.challenge;
}

/** Usernames are compared exactly; addresses (40 hex digits) in any case. */
function sameUser(a: string, b: string): boolean {
  return a === b || (isAddressName(a) && a.toUpperCase() === b.toUpperCase());
}

/** The JSON form of a download, streamed: the bytes are hex-encoded as they leave the store. */
async function sendParcelJson(reply: FastifyReply, s: Services, parcel: ParcelRecord, owner: string, object: ObjectRecord) {
  const head = `{"id":${JSON.stringify(parcel.id)},"owner":${JSON.stringify(owner)},"metadata":${parcel.metadata},"data":"`;
  const bytes = await s.objects.open(object);
  async function* json() {
    yield Buffer.from(head);
    for await (const chunk of bytes as AsyncIterable<Buffer>) yield hexOf(chunk);
    yield Buffer.from('"}');
  }
  reply.type('application/json; charset=utf-8').header('content-length', String(Buffer.byteLength(head) + object.size * 2 + 2));
  return reply.send(Readable.from(json(), { objectMode: false }));
}

export function parcelRoutes(app: FastifyInstance, s: Services): void {
  // Every body reaches the upload unread, as a stream: the raw form goes to the store as it is,
  // the JSON form is parsed as it streams (readParcelJson).
  acceptStreamedBodies(app);

  app.decorateRequest('challenge', null);
  app.decorateRequest('parcelId', null);
  app.addHook('onRequest', async (request) => {
    const rawId = (request.params as { id?: string }).id;
    const id = rawId === undefined ? undefined : parseParcelId(rawId);
    request.parcelId = id ?? null;
    const name = request.routeOptions.config.challenge;
    // Inspecting (?key=) needs no proof.
    if (!name || (name === 'download' && (request.query as Query).key !== undefined)) return;
    request.challenge = await s.challenges.authorize(
      { token: headerOf(request, 'x-auth-token'), publicKey: headerOf(request, 'x-public-key'), signature: headerOf(request, 'x-signature') },
      { name, ...(id ? { id } : {}) },
    );
  });

  app.post(
    '/api/v1/parcels',
    {
      config: { challenge: 'upload', bodyDoc: { 'application/json': { schema: ParcelUploadJson }, ...StreamedBody } },
      schema: {
        tags,
        summary: 'Upload a parcel: JSON {"owner","metadata","data": hex}, or the raw bytes with any other content type',
        description: 'Signed: a challenge for {"name":"upload","hash"} from POST /api/v1/auth. A parcel its owner holds already is answered at once.',
        security: signed,
        headers: SignedHeaders,
        response: answers({ 200: ParcelCreated }),
      },
    },
    async (request, reply) => {
      const grant = grantOf(request);
      const owner = grant.user;
      const { contentType, size, signal } = uploadOptions(request);
      const upload = { expectedSha256: grant.operation.hash, contentType, size, signal };
      if (!isJson(mediaType(request))) {
        // The challenge names the bytes' hash, so raw bytes its owner has already need not be
        // read. A JSON body is read all the same: its owner and metadata must still be checked.
        const existing = await s.parcels.alreadyThere(owner, grant.operation.hash);
        if (existing) {
          if (!request.raw.complete) reply.header('connection', 'close');
          return { id: existing };
        }
        return { id: (await s.parcels.upload(owner, bodyStream(request), upload)).id };
      }

      const max = s.config.parcelJsonMaxBytes;
      if (size !== undefined && size > max) throw jsonTooLarge(max);
      const json = await readParcelJson(bodyStream(request), max, {
        check: (field, value) => {
          if (field === 'metadata') parcelMetadata(value);
          else if (value !== undefined && (typeof value !== 'string' || !(sameUser(value, grant.identity) || sameUser(value, owner.username)))) {
            throw forbidden(`"owner" must be the challenge's user (${grant.identity}), or absent.`);
          }
        },
        store: (bytes) => s.parcels.storeBytes(owner, bytes, { ...upload, contentType: undefined, size: undefined }),
        discard: (stored) => s.parcels.discard(stored),
      });
      return { id: (await s.parcels.commit(owner, json.stored, json.metadata)).id };
    },
  );

  app.get(
    '/api/v1/parcels/:id',
    {
      exposeHeadRoute: false,
      config: { challenge: 'download' },
      schema: {
        tags,
        summary: 'Download (JSON with hex data; raw with Accept: application/octet-stream), or ?key=metadata|owner without proof',
        security: signed,
        headers: SignedHeaders,
        params: ParcelId,
        querystring: ParcelQuery,
        response: answers({ 200: { description: 'the parcel', content: { 'application/json': { schema: ParcelRead }, ...Bytes.content } }, 206: Bytes, 304: NoContent }),
      },
    },
    async (request, reply) => {
      const id = parcelIdOf(request);
      const key = single(request.query as Query, 'key');
      if (key !== undefined) {
        if (key !== 'metadata' && key !== 'owner') throw badRequest(`"key" may be "metadata" or "owner", not "${key.slice(0, 50)}".`);
        if (key === 'metadata') return reply.type('application/json; charset=utf-8').send(`{"metadata":${(await s.parcels.get(id)).metadata}}`);
        return { owner: await s.parcels.ownerName(id) };
      }
      const grant = grantOf(request);
      const { parcel, object } = await s.parcels.open(grant.user.id, id);
      if (prefers(request.headers.accept, 'application/octet-stream')) return sendObject(request, reply, s.objects, object, true);
      return sendParcelJson(reply, s, parcel, grant.user.username, object);
    },
  );

  app.delete(
    '/api/v1/parcels/:id',
    {
      config: { challenge: 'remove' },
      schema: { tags, summary: 'Remove a parcel (its owner only)', security: signed, headers: SignedHeaders, params: ParcelId, response: answers({ 204: NoContent }) },
    },
    async (request, reply) => {
      const id = parcelIdOf(request);
      await s.parcels.remove(grantOf(request).user.id, id);
      return reply.code(204).send();
    },
  );
}
