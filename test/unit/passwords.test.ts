import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { checkPasswordPolicy, PasswordHasher } from '../../src/users/passwords.js';
import { CofferError } from '../../src/errors.js';

const passwords = new PasswordHasher({ concurrency: 2, queue: 8 });
const hashPassword = (p: string) => passwords.hash(p);
const verifyPassword = (h: string | null, p: string) => passwords.verify(h, p);
after(() => passwords.close());

/** The nice value of each thread of this process, by thread name and id. */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

test('argon2id hashes verify the right password only', async () => {
  const h = await hashPassword('correct horse');
  assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.equal(await verifyPassword(h, 'correct horse'), true);
  assert.equal(await verifyPassword(h, 'wrong horse'), false);
  assert.notEqual(h, await hashPassword('correct horse'), 'salted');
});

test('verifying against no hash (unknown user) does the same work and fails', async () => {
  await verifyPassword(null, 'warm-up');
  const t0 = performance.now();
  assert.equal(await verifyPassword(null, 'anything'), false);
  const dummy = performance.now() - t0;
  const h = await hashPassword('x-password');
  const t1 = performance.now();
  await verifyPassword(h, 'wrong');
  const real = performance.now() - t1;
  assert.ok(dummy > real / 4, `dummy verification (${dummy.toFixed(1)} ms) costs like a real one (${real.toFixed(1)} ms)`);
  assert.equal(await verifyPassword('not-a-phc-string', 'x'), false, 'a corrupt hash fails closed');
});

test('password policy: length in characters, at most 1024 bytes, no common passwords', () => {
  const weak = (p: unknown, min = 8) =>
    assert.throws(() => checkPasswordPolicy(p, min), (e: unknown) => e instanceof CofferError && e.code === 'weak_password');
  weak('');
  weak(undefined);
  weak(12345678);
  weak('short');
  weak('x'.repeat(1025));
  weak('Password', 3);
  weak('123456', 3);
  weak('ab', 3);
  assert.equal(checkPasswordPolicy('éééééééé', 8), 'éééééééé');
  assert.equal(checkPasswordPolicy('long enough', 8), 'long enough');
  assert.equal(checkPasswordPolicy('pwd', 3), 'pwd', "the Flask gateway's demo password, with the minimum lowered to 3");
  assert.equal(checkPasswordPolicy('demo', 3), 'demo', "storserv's demo password");
});

test('at most `concurrency` hashes run at once, at most `queue` wait; beyond, 503 with Retry-After and no hashing', async () => {
  const bounded = new PasswordHasher({ concurrency: 1, queue: 2 });
  const attempts = Array.from({ length: 5 }, () => bounded.verify(null, 'storm').then(() => 'checked', (e: unknown) => e));
  const results = await Promise.all(attempts);
  assert.deepEqual(results.slice(0, 3), ['checked', 'checked', 'checked'], 'one running and two waiting are served');
  for (const refused of results.slice(3)) {
    assert.ok(refused instanceof CofferError);
    assert.deepEqual([refused.status, refused.code, refused.headers['retry-after']], [503, 'unavailable', '1']);
  }
  assert.equal(await bounded.verify(null, 'after the storm'), false, 'the queue drains: later checks are served again');
  await bounded.close();
});

test('hashes run on threads at the lowest priority; the event loop keeps its own', async () => {
  const hasher = new PasswordHasher({ concurrency: 2, queue: 8 });
  const lowered = () => threadNices().filter((n) => n === 19).length;
  await passwords.close(); // the other tests' threads
  assert.equal(lowered(), 0);
  await Promise.all([hasher.hash('one-password'), hasher.verify(null, 'two-password')]);
  assert.equal(lowered(), 2, 'one lowered thread per hash that ran at once, idle for a second now');
  assert.equal(threadNices()[0], 0, 'the main thread (first task) keeps its priority');
  await hasher.close();
  assert.equal(lowered(), 0, 'close ends the hashing threads');
  await hasher.hash('again');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(lowered(), 0, 'an idle thread ends by itself after a second');
});
