/**
 * The key/value store of SPEC §3 over real HTTP: values (form, JSON, raw), status codes, ETags and
 * conditional writes, TTLs, the size limit, listings and paging, recursive delete, key rules, and
 * bodies that are not what they claim. Isolation and scopes are in kv-isolation.test.ts.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { TestClock } from '../helpers/clock.js';
import { checkProblem, expectProblem as assertProblem } from '../helpers/problem.js';

// ---------------------------------------------------------------------------------------------
// helpers

const FORM = 'application/x-www-form-urlencoded';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  bytes: Buffer;
}

/**
 * A request whose path goes out byte for byte: fetch and URL normalise "." and ".." segments
 * (and "%2e%2e" with them), node:http does not.
 */
function rawRequest(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawAnswer> {
  const url = new URL(server.base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: Number(url.port), method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: bytes.toString('utf8'), bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Asserts a 400 problem with code invalid_key (or, for a URL that cannot be decoded at all and is
 * refused before routing, invalid_request) and a message.
 */
function assertInvalidKey(res: RawAnswer, what: string, code = 'invalid_key'): void {
  checkProblem(res.status, String(res.headers['content-type']), res.text, 400, code, what);
}

/** Encodes each segment of a key for a URL, keeping the "/" between them. */
const enc = (key: string) => key.split('/').map(encodeURIComponent).join('/');

type Init = { method?: string; headers?: Record<string, string>; query?: string };

interface Kv {
  auth: Record<string, string>;
  json(key: string, value: unknown, init?: Init): Promise<Response>;
  body(key: string, body: unknown, init?: Init): Promise<Response>;
  form(key: string, fields: Record<string, string>, init?: Init): Promise<Response>;
  raw(key: string, body: string | Uint8Array | undefined, contentType: string | undefined, init?: Init): Promise<Response>;
  get(key: string, headers?: Record<string, string>): Promise<Response>;
  list(dir: string, query?: string): Promise<Response>;
  del(key: string, query?: string): Promise<Response>;
  /** PUTs JSON values (the key as its value) and asserts success. */
  seed(...keys: string[]): Promise<void>;
}

function kvClient(s: TestServer, token: string): Kv {
  const auth = { authorization: `Bearer ${token}` };
  const url = (key: string, query?: string) => `/v1/data/${enc(key)}${query ? `?${query}` : ''}`;
  const kv: Kv = {
    auth,
    json: (key, value, init = {}) => kv.body(key, { value }, init),
    body: (key, body, init = {}) =>
      s.fetch(url(key, init.query), {
        method: init.method ?? 'PUT',
        headers: { ...auth, 'content-type': 'application/json', ...init.headers },
        body: JSON.stringify(body),
      }),
    form: (key, fields, init = {}) =>
      s.fetch(url(key, init.query), {
        method: init.method ?? 'PUT',
        headers: { ...auth, 'content-type': FORM, ...init.headers },
        body: new URLSearchParams(fields).toString(),
      }),
    raw: (key, body, contentType, init = {}) =>
      s.fetch(url(key, init.query), {
        method: init.method ?? 'PUT',
        headers: { ...auth, ...(contentType !== undefined ? { 'content-type': contentType } : {}), ...init.headers },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : new Uint8Array(body) } : {}),
      }),
    get: (key, headers = {}) => s.fetch(url(key), { headers: { ...auth, ...headers } }),
    list: (dir, query) => s.fetch(`/v1/data/${dir === '' ? '' : enc(dir.replace(/\/$/, '')) + '/'}${query ? `?${query}` : ''}`, { headers: auth }),
    del: (key, query) => s.fetch(url(key, query), { method: 'DELETE', headers: auth }),
    async seed(...keys) {
      for (const key of keys) {
        const res = await kv.json(key, key);
        assert.ok(res.status === 201 || res.status === 200, `seed ${key} -> ${res.status} ${await res.text()}`);
      }
    },
  };
  return kv;
}

interface Listing {
  dir: string;
  keys: string[];
  dirs: string[];
  cursor: string | null;
}

async function listing(res: Response): Promise<Listing> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return JSON.parse(text) as Listing;
}

/** All pages of a listing, following cursors. */
async function allPages(dir: string, limit: number, extra = ''): Promise<{ pages: Listing[]; keys: string[]; dirs: string[] }> {
  const pages: Listing[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${extra}${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await listing(await kv.list(dir, query));
    pages.push(page);
    cursor = page.cursor;
    assert.ok(pages.length < 100, 'paging does not end');
  } while (cursor !== null);
  return { pages, keys: pages.flatMap((p) => p.keys), dirs: pages.flatMap((p) => p.dirs) };
}


/** Sorts by UTF-8 bytes, the order of SPEC §3 listings. */
const byBytes = (list: string[]) => [...list].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

// ---------------------------------------------------------------------------------------------

let server: TestServer;
let kv: Kv;
/** The server's time: TTLs run out when the tests move it on. */
const clock = new TestClock();
before(async () => {
  server = await startServer({}, { clock });
  kv = kvClient(server, await server.createUser('alice'));
});
after(() => server.close());

describe('values', () => {
  test('a form field value is stored and returned as {key, value}', async () => {
    const post = await kv.form('v/form', { value: 'bar baz' }, { method: 'POST' });
    assert.equal(post.status, 201);
    assert.deepEqual(await post.json(), { key: 'v/form', value: 'bar baz' });
    const get = await kv.get('v/form');
    assert.equal(get.status, 200);
    assert.match(get.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await get.json(), { key: 'v/form', value: 'bar baz' });
  });

  test('an empty form field is an empty string value', async () => {
    const post = await kv.form('v/form-empty', { value: '' }, { method: 'POST' });
    assert.equal(post.status, 201);
    assert.deepEqual(await post.json(), { key: 'v/form-empty', value: '' });
    assert.deepEqual(await (await kv.get('v/form-empty')).json(), { key: 'v/form-empty', value: '' });
  });

  const jsonValues: [string, unknown][] = [
    ['string', 'héllo "world"'],
    ['number', 42.5],
    ['object', { a: 1, nested: { b: [true, null, 'x'] } }],
    ['array', [1, 'two', { three: 3 }, [4]]],
    ['null', null],
    ['boolean', false],
    ['empty string', ''],
  ];
  for (const [name, value] of jsonValues) {
    test(`a JSON ${name} value is returned as it was given`, async () => {
      const key = `v/json-${name.replace(' ', '-')}`;
      const post = await kv.json(key, value, { method: 'POST' });
      assert.equal(post.status, 201);
      assert.deepEqual(await post.json(), { key, value });
      const get = await kv.get(key);
      assert.equal(get.status, 200);
      assert.deepEqual(await get.json(), { key, value });
    });
  }

  test('a JSON or form value is returned as {key, value} even when Accept asks for JSON or anything', async () => {
    await kv.json('v/json-accept', { x: 1 });
    await kv.form('v/form-accept', { value: 'y' });
    for (const accept of ['application/json', '*/*', 'text/plain', 'application/octet-stream']) {
      assert.deepEqual(await (await kv.get('v/json-accept', { accept })).json(), { key: 'v/json-accept', value: { x: 1 } }, accept);
      assert.deepEqual(await (await kv.get('v/form-accept', { accept })).json(), { key: 'v/form-accept', value: 'y' }, accept);
    }
  });

  test('a raw write answers {key, size, content_type}', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    const res = await kv.raw('v/raw-bin', bytes, 'application/octet-stream', { method: 'POST' });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { key: 'v/raw-bin', size: 9, content_type: 'application/octet-stream' });
  });

  test('a raw value is returned raw with its content type when there is no Accept', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255]);
    assert.equal((await kv.raw('v/raw-png', bytes, 'image/png')).status, 201);
    const res = await rawRequest('GET', '/v1/data/v/raw-png', kv.auth); // node:http sends no Accept
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.deepEqual(res.bytes, bytes);
  });

  test('a raw value is returned raw with Accept: */*', async () => {
    const bytes = Buffer.from('raw bytes \u00ff', 'latin1');
    assert.equal((await kv.raw('v/raw-star', bytes, 'application/x-thing')).status, 201);
    const res = await kv.get('v/raw-star', { accept: '*/*' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-thing');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
  });

  test('a raw text/plain body is stored as its bytes (not dropped)', async () => {
    const res = await kv.raw('v/raw-text', 'hello plain text', 'text/plain');
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { key: 'v/raw-text', size: 16, content_type: 'text/plain' });
    const get = await kv.get('v/raw-text', { accept: '*/*' });
    assert.match(get.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await get.text(), 'hello plain text');
  });

  test('a raw value keeps content-type parameters', async () => {
    const res = await kv.raw('v/raw-params', '<p>é</p>', 'text/html; charset=utf-8');
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { key: 'v/raw-params', size: Buffer.byteLength('<p>é</p>'), content_type: 'text/html; charset=utf-8' });
    const get = await kv.get('v/raw-params', { accept: '*/*' });
    assert.equal(get.headers.get('content-type'), 'text/html; charset=utf-8');
    // A stored page is not run on Coffer's origin, and its type is not second-guessed.
    assert.equal(get.headers.get('content-security-policy'), 'sandbox');
    assert.equal(get.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await get.text(), '<p>é</p>');
  });

  test('a raw value with Accept: application/json is {key, value: padded base64, encoding, content_type}', async () => {
    const bytes = Buffer.from([1, 2, 3, 4, 255]); // 5 bytes: base64 needs one "=" of padding
    assert.equal((await kv.raw('v/raw-b64', bytes, 'application/octet-stream')).status, 201);
    const res = await kv.get('v/raw-b64', { accept: 'application/json' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), { key: 'v/raw-b64', value: 'AQIDBP8=', encoding: 'base64', content_type: 'application/octet-stream' });
  });

  test('Accept q-values: the highest q-value wins', async () => {
    const bytes = Buffer.from('qv');
    assert.equal((await kv.raw('v/raw-q', bytes, 'application/x-q')).status, 201);
    const cases: [string, 'json' | 'raw'][] = [
      ['text/plain;q=0.5, application/json', 'json'],
      ['application/json;q=0.9, application/x-q', 'raw'],
      ['image/png;q=0.1, application/json;q=0.2', 'json'],
      ['application/json; q=0.3, */*; q=0.8', 'raw'],
      ['*/*;q=0.1, application/json;q=0.9', 'json'],
    ];
    for (const [accept, want] of cases) {
      const res = await kv.get('v/raw-q', { accept });
      assert.equal(res.status, 200, accept);
      if (want === 'json') assert.deepEqual(await res.json(), { key: 'v/raw-q', value: 'cXY=', encoding: 'base64', content_type: 'application/x-q' }, accept);
      else {
        assert.equal(res.headers.get('content-type'), 'application/x-q', accept);
        assert.equal(await res.text(), 'qv', accept);
      }
    }
  });

  test('Accept q-values: a tie goes to the first listed', async () => {
    assert.equal((await kv.raw('v/raw-tie', 'tie', 'application/x-tie')).status, 201);
    const jsonFirst = await kv.get('v/raw-tie', { accept: 'application/json, */*' });
    assert.deepEqual(await jsonFirst.json(), { key: 'v/raw-tie', value: 'dGll', encoding: 'base64', content_type: 'application/x-tie' });
    const jsonFirstQ = await kv.get('v/raw-tie', { accept: 'application/json;q=0.5, application/x-tie;q=0.5' });
    assert.deepEqual(await jsonFirstQ.json(), { key: 'v/raw-tie', value: 'dGll', encoding: 'base64', content_type: 'application/x-tie' });
    const rawFirst = await kv.get('v/raw-tie', { accept: '*/*, application/json' });
    assert.equal(rawFirst.headers.get('content-type'), 'application/x-tie');
    assert.equal(await rawFirst.text(), 'tie');
    const rawFirstQ = await kv.get('v/raw-tie', { accept: 'application/octet-stream;q=0.7, application/json;q=0.7' });
    assert.equal(await rawFirstQ.text(), 'tie');
  });

  test('an empty raw body with a content type is an empty value', async () => {
    const res = await kv.raw('v/raw-empty', '', 'application/octet-stream', { method: 'POST' });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { key: 'v/raw-empty', size: 0, content_type: 'application/octet-stream' });
    const get = await kv.get('v/raw-empty', { accept: '*/*' });
    assert.equal(get.status, 200);
    assert.equal((await get.arrayBuffer()).byteLength, 0);
    const asJson = await kv.get('v/raw-empty', { accept: 'application/json' });
    assert.deepEqual(await asJson.json(), { key: 'v/raw-empty', value: '', encoding: 'base64', content_type: 'application/octet-stream' });
  });

  test('a raw body with a +json content type is accepted, not refused', async () => {
    const res = await kv.raw('v/ld', '{"@context":"x","value":1}', 'application/ld+json');
    assert.ok(res.status === 201, `expected 201, got ${res.status}: ${await res.clone().text()}`);
  });

  for (const method of ['POST', 'PUT']) {
    test(`${method} with no body and no content type -> 400`, async () => {
      const res = await server.fetch('/v1/data/v/none', { method, headers: kv.auth });
      await assertProblem(res, 400);
      assert.equal((await kv.get('v/none')).status, 404);
    });

    test(`${method} with a form body without "value" -> 400`, async () => {
      await assertProblem(await kv.form('v/none', { other: 'x' }, { method }), 400);
      assert.equal((await kv.get('v/none')).status, 404);
    });

    test(`${method} with an empty form body -> 400`, async () => {
      await assertProblem(await kv.raw('v/none', '', FORM, { method }), 400);
      assert.equal((await kv.get('v/none')).status, 404);
    });

    test(`${method} with a JSON body without "value" -> 400`, async () => {
      await assertProblem(await kv.body('v/none', { val: 1 }, { method }), 400);
      assert.equal((await kv.get('v/none')).status, 404);
    });
  }
});

describe('status codes', () => {
  test('POST creates -> 201', async () => {
    const res = await kv.json('s/post', 'one', { method: 'POST' });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { key: 's/post', value: 'one' });
  });

  test('POST on an existing key -> 409 problem+json and the value is unchanged', async () => {
    assert.equal((await kv.json('s/post-twice', 'first', { method: 'POST' })).status, 201);
    await assertProblem(await kv.json('s/post-twice', 'second', { method: 'POST' }), 409);
    assert.deepEqual(await (await kv.get('s/post-twice')).json(), { key: 's/post-twice', value: 'first' });
  });

  test('PUT on a new key -> 201 created', async () => {
    const res = await kv.json('s/put', 'one');
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { key: 's/put', value: 'one' });
  });

  test('PUT on an existing key -> 200 replaced, and the new value is read back', async () => {
    assert.equal((await kv.json('s/put-twice', 'one')).status, 201);
    const res = await kv.json('s/put-twice', { two: 2 });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { key: 's/put-twice', value: { two: 2 } });
    assert.deepEqual(await (await kv.get('s/put-twice')).json(), { key: 's/put-twice', value: { two: 2 } });
  });

  test('PUT can change a value from JSON to raw and back', async () => {
    assert.equal((await kv.json('s/kind', [1])).status, 201);
    assert.equal((await kv.raw('s/kind', 'raw!', 'application/x-r')).status, 200);
    assert.equal(await (await kv.get('s/kind', { accept: '*/*' })).text(), 'raw!');
    assert.equal((await kv.form('s/kind', { value: 'f' })).status, 200);
    assert.deepEqual(await (await kv.get('s/kind', { accept: '*/*' })).json(), { key: 's/kind', value: 'f' });
  });

  test('DELETE an existing key -> 200 {key, deleted: true} and it is gone', async () => {
    await kv.seed('s/del');
    const res = await kv.del('s/del');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { key: 's/del', deleted: true });
    assert.equal((await kv.get('s/del')).status, 404);
  });

  test('DELETE a missing key -> 404 problem+json', async () => {
    await assertProblem(await kv.del('s/never'), 404);
  });

  test('GET a missing key -> 404 problem+json', async () => {
    await assertProblem(await kv.get('s/missing'), 404, 'not_found');
  });

  test('GET a key whose name is only a directory prefix -> 404', async () => {
    await kv.seed('s/pref/child');
    await assertProblem(await kv.get('s/pref'), 404);
  });
});

describe('ETags and conditional requests', () => {
  test('GET answers an ETag, and a write answers the same ETag as the following GET', async () => {
    const put = await kv.json('e/tag', 'v1');
    const putTag = put.headers.get('etag');
    assert.ok(putTag, 'write without ETag');
    const get = await kv.get('e/tag');
    assert.equal(get.headers.get('etag'), putTag);
  });

  test('the ETag changes when the value changes', async () => {
    const a = (await kv.json('e/change', 'v1')).headers.get('etag');
    const b = (await kv.json('e/change', 'v2')).headers.get('etag');
    assert.ok(a && b);
    assert.notEqual(a, b);
    assert.equal((await kv.get('e/change')).headers.get('etag'), b);
  });

  test('raw and form writes answer an ETag too', async () => {
    const raw = await kv.raw('e/raw', 'bytes', 'application/octet-stream');
    assert.ok(raw.headers.get('etag'));
    assert.equal((await kv.get('e/raw')).headers.get('etag'), raw.headers.get('etag'));
    const form = await kv.form('e/form', { value: 'f' }, { method: 'POST' });
    assert.ok(form.headers.get('etag'));
    assert.equal((await kv.get('e/form')).headers.get('etag'), form.headers.get('etag'));
  });

  test('GET with If-None-Match of the current ETag -> 304 without a body', async () => {
    const etag = (await kv.json('e/inm', 'x')).headers.get('etag')!;
    const res = await kv.get('e/inm', { 'if-none-match': etag });
    assert.equal(res.status, 304);
    assert.equal(await res.text(), '');
    assert.equal(res.headers.get('etag'), etag);
  });

  test('GET with If-None-Match of another ETag -> 200', async () => {
    await kv.json('e/inm-other', 'x');
    const res = await kv.get('e/inm-other', { 'if-none-match': '"not-the-tag"' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { key: 'e/inm-other', value: 'x' });
  });

  test('If-Match with the current ETag -> the write succeeds', async () => {
    const etag = (await kv.json('e/im', 'one')).headers.get('etag')!;
    const res = await kv.json('e/im', 'two', { headers: { 'if-match': etag } });
    assert.equal(res.status, 200);
    assert.deepEqual(await (await kv.get('e/im')).json(), { key: 'e/im', value: 'two' });
  });

  test('If-Match with a stale ETag -> 412 and the value is unchanged', async () => {
    const stale = (await kv.json('e/im-stale', 'one')).headers.get('etag')!;
    await kv.json('e/im-stale', 'two');
    await assertProblem(await kv.json('e/im-stale', 'three', { headers: { 'if-match': stale } }), 412);
    assert.deepEqual(await (await kv.get('e/im-stale')).json(), { key: 'e/im-stale', value: 'two' });
  });

  test('If-Match on a missing key -> 412 and nothing is created', async () => {
    await assertProblem(await kv.json('e/im-missing', 'x', { headers: { 'if-match': '"abc"' } }), 412);
    await assertProblem(await kv.json('e/im-missing', 'x', { headers: { 'if-match': '*' } }), 412);
    assert.equal((await kv.get('e/im-missing')).status, 404);
  });

  test('If-None-Match: * on an existing key -> 412 (PUT and POST) and the value is unchanged', async () => {
    await kv.json('e/inm-star', 'kept');
    await assertProblem(await kv.json('e/inm-star', 'lost', { headers: { 'if-none-match': '*' } }), 412);
    await assertProblem(await kv.json('e/inm-star', 'lost', { method: 'POST', headers: { 'if-none-match': '*' } }), 412);
    assert.deepEqual(await (await kv.get('e/inm-star')).json(), { key: 'e/inm-star', value: 'kept' });
  });

  test('If-None-Match: * on a missing key -> 201', async () => {
    const res = await kv.json('e/inm-star-new', 'new', { headers: { 'if-none-match': '*' } });
    assert.equal(res.status, 201);
    assert.deepEqual(await (await kv.get('e/inm-star-new')).json(), { key: 'e/inm-star-new', value: 'new' });
  });
});

describe('TTL', () => {
  test('ttl as a query parameter: the key disappears after expiry', async () => {
    assert.equal((await kv.json('t/query', 'x', { query: 'ttl=1' })).status, 201);
    assert.equal((await kv.get('t/query')).status, 200);
    clock.advance(1300);
    await assertProblem(await kv.get('t/query'), 404);
  });

  test('ttl as a JSON body field: the key disappears after expiry', async () => {
    assert.equal((await kv.body('t/json', { value: 'x', ttl: 1 })).status, 201);
    assert.equal((await kv.get('t/json')).status, 200);
    clock.advance(1300);
    await assertProblem(await kv.get('t/json'), 404);
  });

  test('ttl as a form field: the key disappears after expiry', async () => {
    assert.equal((await kv.form('t/form', { value: 'x', ttl: '1' })).status, 201);
    assert.equal((await kv.get('t/form')).status, 200);
    clock.advance(1300);
    await assertProblem(await kv.get('t/form'), 404);
  });

  test('ttl on a raw value (query parameter): the key disappears after expiry', async () => {
    assert.equal((await kv.raw('t/raw', 'bytes', 'application/octet-stream', { query: 'ttl=1' })).status, 201);
    assert.equal((await kv.get('t/raw')).status, 200);
    clock.advance(1300);
    await assertProblem(await kv.get('t/raw'), 404);
  });

  test('an expired key is gone from listings, DELETE is 404 and POST creates it again', async () => {
    await kv.seed('t/gone/keep');
    assert.equal((await kv.json('t/gone/tmp', 'x', { query: 'ttl=1' })).status, 201);
    assert.equal((await kv.json('t/gone/sub/tmp', 'x', { query: 'ttl=1' })).status, 201);
    clock.advance(1300);
    assert.deepEqual(await listing(await kv.list('t/gone/')), { dir: 't/gone/', keys: ['t/gone/keep'], dirs: [], cursor: null });
    assert.equal((await kv.del('t/gone/tmp')).status, 404);
    assert.equal((await kv.json('t/gone/sub/tmp', 'again', { method: 'POST' })).status, 201);
  });

  test('a key with a longer ttl is still there after a second', async () => {
    assert.equal((await kv.json('t/long', 'x', { query: 'ttl=60' })).status, 201);
    clock.advance(1100);
    assert.equal((await kv.get('t/long')).status, 200);
  });

  for (const bad of ['0', '-1', '1.5', 'abc']) {
    test(`ttl=${bad} in the query -> 400 and nothing is stored`, async () => {
      const key = `t/bad-q-${bad}`;
      await assertProblem(await kv.json(key, 'x', { query: `ttl=${encodeURIComponent(bad)}` }), 400);
      assert.equal((await kv.get(key)).status, 404);
    });

    test(`ttl ${bad} as a form field -> 400`, async () => {
      await assertProblem(await kv.form(`t/bad-f-${bad}`, { value: 'x', ttl: bad }), 400);
    });
  }

  for (const bad of [0, -1, 1.5, 'abc']) {
    test(`ttl ${JSON.stringify(bad)} as a JSON field -> 400`, async () => {
      await assertProblem(await kv.body(`t/bad-j-${bad}`, { value: 'x', ttl: bad }), 400);
      assert.equal((await kv.get(`t/bad-j-${bad}`)).status, 404);
    });
  }
});

describe('size limit (COFFER_KV_MAX_BYTES=1024)', () => {
  let small: TestServer;
  let skv: Kv;
  before(async () => {
    small = await startServer({ COFFER_KV_MAX_BYTES: '1024' });
    skv = kvClient(small, await small.createUser('sizer'));
  });
  after(() => small.close());

  test('a raw value of exactly 1024 bytes is accepted', async () => {
    const res = await skv.raw('raw-ok', Buffer.alloc(1024, 7), 'application/octet-stream');
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { key: 'raw-ok', size: 1024, content_type: 'application/octet-stream' });
  });

  test('a raw value of 1025 bytes -> 413 and nothing is stored', async () => {
    await assertProblem(await skv.raw('raw-big', Buffer.alloc(1025, 7), 'application/octet-stream'), 413);
    assert.equal((await skv.get('raw-big')).status, 404);
  });

  test('a form value of exactly 1024 bytes is accepted (multi-byte UTF-8 counted in bytes)', async () => {
    const value = 'é'.repeat(512); // 1024 bytes
    const res = await skv.form('form-ok', { value });
    assert.equal(res.status, 201);
    assert.deepEqual(await (await skv.get('form-ok')).json(), { key: 'form-ok', value });
  });

  test('a form value of 1025 bytes -> 413', async () => {
    await assertProblem(await skv.form('form-big', { value: 'a'.repeat(1025) }), 413);
    await assertProblem(await skv.form('form-big', { value: 'é'.repeat(512) + 'a' }), 413);
    assert.equal((await skv.get('form-big')).status, 404);
  });

  test('a JSON value whose serialisation is exactly 1024 bytes is accepted', async () => {
    const value = 'a'.repeat(1022); // "aaa…" is 1024 bytes serialised
    const res = await skv.json('json-ok', value);
    assert.equal(res.status, 201);
    assert.deepEqual(await (await skv.get('json-ok')).json(), { key: 'json-ok', value });
  });

  test('a JSON value whose serialisation is 1025 bytes -> 413', async () => {
    await assertProblem(await skv.json('json-big', 'a'.repeat(1023)), 413);
    await assertProblem(await skv.json('json-big', ['a'.repeat(1021)]), 413); // ["…"] = 1025 bytes
    assert.equal((await skv.get('json-big')).status, 404);
  });
});

describe('listing', () => {
  let lkv: Kv;
  before(async () => {
    // A user of its own, so the root listing is exactly known.
    lkv = kvClient(server, await server.createUser('lister'));
    await lkv.seed('top', 'a/b/c', 'a/b/d/e', 'a/b/d/f', 'a/b/g', 'a/x', 'zz/1');
  });

  test('the root lists direct children as full paths, dir ""', async () => {
    assert.deepEqual(await listing(await lkv.list('')), { dir: '', keys: ['top'], dirs: ['a/', 'zz/'], cursor: null });
  });

  test('a directory lists direct children as full paths, dirs ending in "/", dir "a/b/"', async () => {
    assert.deepEqual(await listing(await lkv.list('a/b/')), { dir: 'a/b/', keys: ['a/b/c', 'a/b/g'], dirs: ['a/b/d/'], cursor: null });
    assert.deepEqual(await listing(await lkv.list('a/')), { dir: 'a/', keys: ['a/x'], dirs: ['a/b/'], cursor: null });
  });

  test('?recursive=true lists every key below, full paths, dirs empty', async () => {
    assert.deepEqual(await listing(await lkv.list('a/', 'recursive=true')), {
      dir: 'a/',
      keys: ['a/b/c', 'a/b/d/e', 'a/b/d/f', 'a/b/g', 'a/x'],
      dirs: [],
      cursor: null,
    });
    const root = await listing(await lkv.list('', 'recursive=true'));
    assert.deepEqual(root, { dir: '', keys: ['a/b/c', 'a/b/d/e', 'a/b/d/f', 'a/b/g', 'a/x', 'top', 'zz/1'], dirs: [], cursor: null });
  });

  test('an empty or nonexistent directory -> 200 with empty lists', async () => {
    assert.deepEqual(await listing(await lkv.list('nothing/here/')), { dir: 'nothing/here/', keys: [], dirs: [], cursor: null });
    const fresh = kvClient(server, await server.createUser('empty-user'));
    assert.deepEqual(await listing(await fresh.list('')), { dir: '', keys: [], dirs: [], cursor: null });
  });

  test('a key name is not a directory: listing "top/" is empty', async () => {
    assert.deepEqual(await listing(await lkv.list('top/')), { dir: 'top/', keys: [], dirs: [], cursor: null });
  });

  test('entries are sorted by bytes: upper case before lower case, "é" after "z", U+FF01 before an emoji', async () => {
    const names = ['é', 'z', 'Z', 'a', 'A', '_', '0', 'a-b', 'a.c', 'ab', '\uff01', '😀', 'zé', 'Zz'];
    for (const n of names) await kv.seed(`sort/${n}`);
    await kv.seed('sort/é2/sub', 'sort/A2/sub', 'sort/b/sub');
    const res = await listing(await kv.list('sort/'));
    const expectedKeys = byBytes(names).map((n) => `sort/${n}`);
    assert.deepEqual(res.keys, expectedKeys);
    // spot checks that make the byte order explicit
    assert.ok(res.keys.indexOf('sort/Z') < res.keys.indexOf('sort/a'));
    assert.ok(res.keys.indexOf('sort/z') < res.keys.indexOf('sort/é'));
    assert.ok(res.keys.indexOf('sort/\uff01') < res.keys.indexOf('sort/😀')); // UTF-16 order would say otherwise
    assert.deepEqual(res.dirs, ['sort/A2/', 'sort/b/', 'sort/é2/']);
  });

  test('?limit pages keys and dirs together; all pages equal the unpaged listing; the last cursor is null', async () => {
    const dir = 'pg/';
    const keys = ['pg/a', 'pg/b/x', 'pg/b/y', 'pg/c', 'pg/d/1', 'pg/d/2/3', 'pg/e', 'pg/f/g/h', 'pg/g', 'pg/h-', 'pg/h/i', 'pg/Ω', 'pg/é/1'];
    await kv.seed(...keys);
    const full = await listing(await kv.list(dir));
    assert.equal(full.cursor, null);
    assert.deepEqual(full.keys, ['pg/a', 'pg/c', 'pg/e', 'pg/g', 'pg/h-', 'pg/Ω']);
    assert.deepEqual(full.dirs, ['pg/b/', 'pg/d/', 'pg/f/', 'pg/h/', 'pg/é/']);
    const total = full.keys.length + full.dirs.length;
    for (const limit of [1, 2, 3, 4, 5, total - 1]) {
      const { pages, keys: pagedKeys, dirs: pagedDirs } = await allPages(dir, limit);
      assert.deepEqual(pagedKeys, full.keys, `limit=${limit}`);
      assert.deepEqual(pagedDirs, full.dirs, `limit=${limit}`);
      assert.equal(pages.length, Math.ceil(total / limit), `limit=${limit}`);
      pages.forEach((p, i) => {
        assert.equal(p.dir, dir);
        const n = p.keys.length + p.dirs.length;
        if (i < pages.length - 1) {
          assert.equal(n, limit, `limit=${limit} page ${i} holds ${n}`);
          assert.equal(typeof p.cursor, 'string');
        } else {
          assert.ok(n >= 1 && n <= limit);
          assert.equal(p.cursor, null);
        }
      });
    }
  });

  test('?limit equal to the number of entries -> one page with cursor null', async () => {
    await kv.seed('exact/a', 'exact/b', 'exact/c/d');
    const page = await listing(await kv.list('exact/', 'limit=3'));
    assert.deepEqual(page, { dir: 'exact/', keys: ['exact/a', 'exact/b'], dirs: ['exact/c/'], cursor: null });
  });

  test('?limit with ?recursive=true pages every key below', async () => {
    const keys = ['rp/a', 'rp/b/c', 'rp/b/d/e', 'rp/f', 'rp/g/h'];
    await kv.seed(...keys);
    const { pages, keys: paged, dirs } = await allPages('rp/', 2, '&recursive=true');
    assert.deepEqual(paged, keys);
    assert.deepEqual(dirs, []);
    assert.equal(pages.length, 3);
    assert.equal(pages.at(-1)!.cursor, null);
  });

  test('the default limit is 1000: 1001 entries give a full page and a cursor', async () => {
    const big = kvClient(server, await server.createUser('many-keys'));
    const n = 1001;
    const all = Array.from({ length: n }, (_, i) => `k${String(i).padStart(4, '0')}`);
    // seed concurrently in batches to keep the test quick
    for (let i = 0; i < n; i += 50) {
      const res = await Promise.all(all.slice(i, i + 50).map((k) => big.json(`m/${k}`, 1)));
      for (const r of res) assert.equal(r.status, 201);
    }
    const first = await listing(await big.list('m/'));
    assert.equal(first.keys.length, 1000);
    assert.equal(typeof first.cursor, 'string');
    const second = await listing(await big.list('m/', `cursor=${encodeURIComponent(first.cursor!)}`));
    assert.deepEqual(second.keys, ['m/k1000']);
    assert.equal(second.cursor, null);
  });

  for (const bad of ['0', 'abc', '-1', '1.5', '']) {
    test(`?limit=${bad} -> 400`, async () => {
      await assertProblem(await lkv.list('a/', `limit=${bad}`), 400);
    });
  }

  test('?limit above 1000 is served as 1000, as S3 caps max-keys', async () => {
    assert.deepEqual(await listing(await lkv.list('a/b/', 'limit=5000')), { dir: 'a/b/', keys: ['a/b/c', 'a/b/g'], dirs: ['a/b/d/'], cursor: null });
  });

  test('?limit=1000 is accepted', async () => {
    assert.deepEqual(await listing(await lkv.list('a/b/', 'limit=1000')), { dir: 'a/b/', keys: ['a/b/c', 'a/b/g'], dirs: ['a/b/d/'], cursor: null });
  });

  test('a garbage cursor -> 400', async () => {
    for (const cursor of ['garbage!!', 'AAAA', '%%%', 'eyJ4IjoxfQ']) {
      await assertProblem(await lkv.list('a/b/', `cursor=${encodeURIComponent(cursor)}`), 400);
    }
  });

  test('a cursor from another directory -> 400', async () => {
    const page = await listing(await lkv.list('a/b/', 'limit=1'));
    assert.ok(page.cursor);
    await assertProblem(await lkv.list('zz/', `cursor=${encodeURIComponent(page.cursor)}`), 400);
  });

  test("a cursor from a subdirectory's listing used on its parent -> 400", async () => {
    const page = await listing(await lkv.list('a/b/', 'limit=1'));
    assert.ok(page.cursor);
    await assertProblem(await lkv.list('a/', `cursor=${encodeURIComponent(page.cursor)}`), 400);
  });

  test('an empty cursor -> 400', async () => {
    await assertProblem(await lkv.list('a/b/', 'cursor='), 400);
  });
});

describe('recursive delete', () => {
  test('DELETE dir/?recursive=true -> {dir, deleted: N}, the keys are gone, shared-prefix siblings survive', async () => {
    await kv.seed('rd/dir/a', 'rd/dir/b/c', 'rd/dir/b/d/e', 'rd/dir2/x', 'rd/dir-x', 'rd/dir', 'rd/dirz');
    const res = await kv.del('rd/dir/', 'recursive=true');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { dir: 'rd/dir/', deleted: 3 });
    for (const k of ['rd/dir/a', 'rd/dir/b/c', 'rd/dir/b/d/e']) assert.equal((await kv.get(k)).status, 404, k);
    for (const k of ['rd/dir2/x', 'rd/dir-x', 'rd/dir', 'rd/dirz']) assert.equal((await kv.get(k)).status, 200, k);
    assert.deepEqual(await listing(await kv.list('rd/dir/')), { dir: 'rd/dir/', keys: [], dirs: [], cursor: null });
    assert.deepEqual(await listing(await kv.list('rd/')), { dir: 'rd/', keys: ['rd/dir', 'rd/dir-x', 'rd/dirz'], dirs: ['rd/dir2/'], cursor: null });
  });

  test('DELETE of an empty directory with ?recursive=true -> 200 deleted 0', async () => {
    const res = await kv.del('rd/none/', 'recursive=true');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { dir: 'rd/none/', deleted: 0 });
  });

  test('DELETE of a directory without ?recursive -> 400 and nothing is deleted', async () => {
    await kv.seed('rd2/a', 'rd2/b/c');
    await assertProblem(await kv.del('rd2/'), 400);
    await assertProblem(await kv.del('rd2/', 'recursive=false'), 400);
    assert.equal((await kv.get('rd2/a')).status, 200);
    assert.equal((await kv.get('rd2/b/c')).status, 200);
  });

  test('DELETE /v1/data/?recursive=true deletes all of the caller\'s keys', async () => {
    const wipe = kvClient(server, await server.createUser('wiper'));
    await wipe.seed('w1', 'w/2', 'w/3/4');
    const res = await server.fetch('/v1/data/?recursive=true', { method: 'DELETE', headers: wipe.auth });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { dir: '', deleted: 3 });
    assert.deepEqual(await listing(await wipe.list('', 'recursive=true')), { dir: '', keys: [], dirs: [], cursor: null });
  });
});

describe('key rules', () => {
  const path = (p: string) => `/v1/data/${p}`;
  const jsonHeaders = () => ({ ...kv.auth, 'content-type': 'application/json' });

  for (const p of ['..', '.', 'a/../b', 'a/./b', 'a/..', 'a/.', '../a', './a', 'a/../', 'a/./']) {
    test(`a "${p}" key path (sent unnormalised) -> 400 invalid_key on GET, PUT and DELETE`, async () => {
      assertInvalidKey(await rawRequest('GET', path(p), kv.auth), `GET ${p}`);
      assertInvalidKey(await rawRequest('PUT', path(p), jsonHeaders(), '{"value":1}'), `PUT ${p}`);
      assertInvalidKey(await rawRequest('DELETE', path(p) + (p.endsWith('/') ? '?recursive=true' : ''), kv.auth), `DELETE ${p}`);
    });
  }

  for (const p of ['%2e%2e', '%2E%2E', '.%2e', '%2e', 'a/%2e%2e/b', 'a/%2e/b', 'a/%2e%2e/']) {
    test(`a percent-encoded dot segment "${p}" -> 400 invalid_key`, async () => {
      assertInvalidKey(await rawRequest('GET', path(p), kv.auth), `GET ${p}`);
      assertInvalidKey(await rawRequest('PUT', path(p), jsonHeaders(), '{"value":1}'), `PUT ${p}`);
    });
  }

  test('dot segments never reach another key: "a/../b" does not read or write "b"', async () => {
    await kv.seed('dotb');
    assert.equal((await rawRequest('GET', path('x/../dotb'), kv.auth)).status, 400);
    assert.equal((await rawRequest('PUT', path('x/../dotb'), jsonHeaders(), '{"value":"evil"}')).status, 400);
    assert.deepEqual(await (await kv.get('dotb')).json(), { key: 'dotb', value: 'dotb' });
  });

  test('segments that merely contain dots are fine: "...", ".a", "a.", "..a"', async () => {
    for (const k of ['...', '.a', 'a.', '..a', 'x/.hidden/y']) {
      const res = await rawRequest('PUT', path(k), jsonHeaders(), '{"value":1}');
      assert.equal(res.status, 201, `${k}: ${res.text}`);
      assert.equal((await rawRequest('GET', path(k), kv.auth)).status, 200, k);
    }
  });

  for (const p of ['a//b', '/a', 'a//', '//']) {
    test(`an empty segment "${p}" -> 400 invalid_key`, async () => {
      assertInvalidKey(await rawRequest('GET', path(p), kv.auth), `GET ${p}`);
      if (!p.endsWith('/')) assertInvalidKey(await rawRequest('PUT', path(p), jsonHeaders(), '{"value":1}'), `PUT ${p}`);
    });
  }

  for (const c of ['%00', '%01', '%09', '%0A', '%0D', '%1F', '%7F', '%1f', '%7f']) {
    test(`a control character ${c} -> 400 invalid_key`, async () => {
      assertInvalidKey(await rawRequest('GET', path(`ctl${c}x`), kv.auth), `GET ${c}`);
      assertInvalidKey(await rawRequest('PUT', path(`ctl${c}x`), jsonHeaders(), '{"value":1}'), `PUT ${c}`);
      assertInvalidKey(await rawRequest('GET', path(`dir${c}/`), kv.auth), `list ${c}`);
    });
  }

  test('characters just outside the control ranges are fine: space, "~", U+0080, U+00A0', async () => {
    for (const k of ['sp ace', 'til~de', 'c1\u0080', 'nb\u00a0sp']) {
      const res = await kv.json(`ok/${k}`, k);
      assert.equal(res.status, 201, `${JSON.stringify(k)}: ${await res.text()}`);
      assert.deepEqual(await (await kv.get(`ok/${k}`)).json(), { key: `ok/${k}`, value: k });
    }
  });

  test('a 255-byte segment is accepted; 256 bytes -> 400 invalid_key', async () => {
    assert.equal((await kv.json(`seg/${'s'.repeat(255)}`, 1)).status, 201);
    assert.equal((await kv.json(`seg/${'é'.repeat(127)}x`, 1)).status, 201); // 255 bytes
    assertInvalidKey(await rawRequest('PUT', path(`seg/${'s'.repeat(256)}`), jsonHeaders(), '{"value":1}'), '256 ASCII');
    assertInvalidKey(await rawRequest('PUT', path(`seg/${enc('é'.repeat(128))}`), jsonHeaders(), '{"value":1}'), '256 bytes of é');
    assertInvalidKey(await rawRequest('GET', path(`${'s'.repeat(256)}/`), kv.auth), '256-byte dir segment');
  });

  test('a key of 1024 bytes is accepted; 1025 bytes -> 400 invalid_key', async () => {
    const seg = 'k'.repeat(200);
    const k1024 = [seg, seg, seg, seg, seg, 'k'.repeat(19)].join('/'); // 5*200 + 19 + 5 slashes
    assert.equal(Buffer.byteLength(k1024), 1024);
    const ok = await kv.json(k1024, 'long');
    assert.equal(ok.status, 201, await ok.clone().text());
    assert.deepEqual(await (await kv.get(k1024)).json(), { key: k1024, value: 'long' });
    assertInvalidKey(await rawRequest('PUT', path(k1024 + 'k'), jsonHeaders(), '{"value":1}'), '1025 bytes');
    assertInvalidKey(await rawRequest('GET', path(k1024 + 'k'), kv.auth), 'GET 1025 bytes');
    const many = Array.from({ length: 6 }, () => 'm'.repeat(250)).join('/');
    assertInvalidKey(await rawRequest('GET', path(many), kv.auth), 'GET 1505 bytes');
  });

  test('malformed percent-encoding (%ZZ, a%2, a%) -> 400 invalid_request (the URL cannot be decoded)', async () => {
    for (const p of ['%ZZ', 'a%2', 'a%', 'ok/%G0']) {
      assertInvalidKey(await rawRequest('GET', path(p), kv.auth), `GET ${p}`, 'invalid_request');
      assertInvalidKey(await rawRequest('PUT', path(p), jsonHeaders(), '{"value":1}'), `PUT ${p}`, 'invalid_request');
      assertInvalidKey(await rawRequest('DELETE', path(p), kv.auth), `DELETE ${p}`, 'invalid_request');
    }
  });

  test('percent-encoded bytes that are not UTF-8 (%FF, truncated or surrogate sequences) -> 400 invalid_request', async () => {
    for (const p of ['%FF', '%C3', '%C3%28', '%E2%82', '%ED%A0%80', 'ok/%FFbad', 'dir%FF/']) {
      assertInvalidKey(await rawRequest('GET', path(p), kv.auth), `GET ${p}`, 'invalid_request');
      if (!p.endsWith('/')) assertInvalidKey(await rawRequest('PUT', path(p), jsonHeaders(), '{"value":1}'), `PUT ${p}`, 'invalid_request');
    }
  });

  test('percent-encoded characters are decoded once: "%2541" is the key "%41"', async () => {
    const put = await rawRequest('PUT', path('pct/%2541'), jsonHeaders(), '{"value":"p"}');
    assert.equal(put.status, 201, put.text);
    assert.deepEqual(JSON.parse(put.text), { key: 'pct/%41', value: 'p' });
    assert.equal((await rawRequest('GET', path('pct/A'), kv.auth)).status, 404);
    assert.deepEqual(await listing(await kv.list('pct/')), { dir: 'pct/', keys: ['pct/%41'], dirs: [], cursor: null });
  });

  test('a "?" in the query is not part of the key; an encoded "%3F" is', async () => {
    assert.equal((await kv.json('q/a?b', 'enc')).status, 201); // enc() sends q/a%3Fb
    const get = await kv.get('q/a?b');
    assert.deepEqual(await get.json(), { key: 'q/a?b', value: 'enc' });
    assert.equal((await server.fetch('/v1/data/q/a?b', { headers: kv.auth })).status, 404);
  });

  for (const method of ['POST', 'PUT']) {
    test(`${method} of a value at a path ending in "/" -> 400`, async () => {
      const res = await server.fetch('/v1/data/dirval/', { method, headers: { ...kv.auth, 'content-type': 'application/json' }, body: '{"value":1}' });
      await assertProblem(res, 400);
      assert.deepEqual(await listing(await kv.list('dirval/')), { dir: 'dirval/', keys: [], dirs: [], cursor: null });
    });
  }

  test('POST of a value at the root "/v1/data/" -> 400', async () => {
    const res = await server.fetch('/v1/data/', { method: 'POST', headers: { ...kv.auth, 'content-type': 'application/json' }, body: '{"value":1}' });
    await assertProblem(res, 400);
  });
});

describe('bodies that are not what they claim', () => {
  for (const method of ['POST', 'PUT']) {
    test(`${method} with malformed JSON -> 400 problem+json, never 500`, async () => {
      for (const body of ['{"value":', '{value: 1}', "{'value': 1}", '{"value": 1,}', 'nul']) {
        const res = await kv.raw('bad/json', body, 'application/json', { method });
        await assertProblem(res, 400);
      }
      assert.equal((await kv.get('bad/json')).status, 404);
    });

    test(`${method} with an empty body declared as JSON -> 400`, async () => {
      await assertProblem(await kv.raw('bad/json-empty', '', 'application/json', { method }), 400);
    });

    test(`${method} with a JSON array body -> 400`, async () => {
      await assertProblem(await kv.raw('bad/json-array', '[{"value":1}]', 'application/json', { method }), 400);
      assert.equal((await kv.get('bad/json-array')).status, 404);
    });

    test(`${method} with a bare JSON string body -> 400`, async () => {
      await assertProblem(await kv.raw('bad/json-string', '"value"', 'application/json', { method }), 400);
      assert.equal((await kv.get('bad/json-string')).status, 404);
    });

    test(`${method} with a JSON null or number body -> 400`, async () => {
      await assertProblem(await kv.raw('bad/json-null', 'null', 'application/json', { method }), 400);
      await assertProblem(await kv.raw('bad/json-num', '7', 'application/json', { method }), 400);
    });
  }

  test('JSON with a charset parameter is still JSON', async () => {
    const res = await kv.raw('bad/charset', '{"value":{"ok":true}}', 'application/json; charset=utf-8');
    assert.equal(res.status, 201);
    assert.deepEqual(await (await kv.get('bad/charset', { accept: 'application/json' })).json(), { key: 'bad/charset', value: { ok: true } });
  });

  test('a form body with "value" twice -> 400', async () => {
    await assertProblem(await kv.raw('bad/form-twice', 'value=a&value=b', FORM), 400);
  });

  test('a "ttl" both in the query and in the body -> 400', async () => {
    await assertProblem(await kv.body('bad/ttl-twice', { value: 1, ttl: 5 }, { query: 'ttl=5' }), 400);
  });
});
