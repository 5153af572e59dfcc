/**
 * The one check of a refusal (SPEC §6, RFC 9457): the status, application/problem+json, all six
 * fields with `error` repeating `detail`, the code when one is expected, and nothing that looks
 * like a stack trace or an internal path.
 */
import assert from 'node:assert/strict';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  error: string;
  [extra: string]: unknown;
}

const STACK = /\n\s+at\s|\bat\s+\S+\s+\(|\/work\/|node_modules|[\w-]+\.(ts|js):\d+|file:\/\//;

/** Checks an answer already read: its status, its content type and its text. */
export function checkProblem(status: number, contentType: string | null | undefined, text: string, expected: number, code?: string, what = ''): Problem {
  const where = what ? `${what}: ` : '';
  assert.equal(status, expected, `${where}expected ${expected}, got ${status}: ${text}`);
  assert.match(contentType ?? '', /^application\/problem\+json/, `${where}content type`);
  const body = JSON.parse(text) as Problem;
  for (const field of ['type', 'title', 'detail', 'code', 'error'] as const) assert.equal(typeof body[field], 'string', `${where}problem field ${field}: ${text}`);
  assert.equal(body.status, expected);
  assert.match(body.code, /^[a-z_]+$/);
  assert.ok(body.detail.length > 0, `${where}a detail`);
  assert.equal(body.error, body.detail);
  assert.doesNotMatch(text, STACK, `${where}no stack trace or internal path`);
  if (code !== undefined) assert.equal(body.code, code, `${where}code: ${text}`);
  return body;
}

/** Reads a fetch Response and checks it is the refusal expected. */
export async function expectProblem(res: Response, expected: number, code?: string, what = ''): Promise<Problem> {
  return checkProblem(res.status, res.headers.get('content-type'), await res.text(), expected, code, what);
}

export { STACK };
