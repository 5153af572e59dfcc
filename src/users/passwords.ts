/**
 * Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes), in worker threads at the
 * lowest CPU priority (hash-workers.ts). A dummy hash with the same parameters lets a login for
 * an unknown user cost the same time as one with a wrong password.
 *
 * Each hash takes a core for tens of milliseconds, so a storm of logins could take the whole
 * machine from every other request. At most `concurrency` run at once; at most `queue` wait; the
 * rest are refused at once with 503 and Retry-After, before any hashing.
 */
import { badRequest, CofferError } from '../errors.js';
import { HashWorkers } from './hash-workers.js';

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum, which isolated modules cannot import)
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
/** The hash of a random password nobody knows, made with OPTIONS: verifying against it costs what a real check costs. */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$Qk/V/VmzFHcI4vp9l4tNNg$ATms0tVpZrLeS/MSTMDqSmnz97zfbbl63qyqaZu6wgo';

export class PasswordHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly workers = new HashWorkers(OPTIONS);

  constructor(private readonly limits: { concurrency: number; queue: number }) {}

  hash(password: string): Promise<string> {
    return this.bounded(() => this.workers.hash(password));
  }

  /** Verifies against `stored`, or against a dummy hash when there is none, so both take as long. */
  verify(stored: string | null | undefined, password: string): Promise<boolean> {
    return this.bounded(async () => {
      if (!stored) {
        await this.workers.verify(DUMMY_HASH, password);
        return false;
      }
      return this.workers.verify(stored, password);
    });
  }

  /** Ends the hashing threads (at shutdown). */
  close(): Promise<void> {
    return this.workers.close();
  }

  private async bounded<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limits.concurrency) {
      if (this.waiting.length >= this.limits.queue) {
        throw new CofferError('unavailable', 'Too many password checks are waiting; try again in a moment.', { 'retry-after': '1' });
      }
      // A finishing check hands its slot to the first waiter: no newcomer can take it in between.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** The passwords every guessing list starts with: refused whatever the length setting. */
const COMMON = new Set([
  '123456', '1234567', '12345678', '123456789', '1234567890', '123123', '111111', '000000', 'password', 'password1',
  'passw0rd', 'qwerty', 'qwerty123', 'abc123', 'letmein', 'welcome', 'iloveyou', 'admin', 'admin123', 'changeme', 'secret',
]);

/**
 * Rejects passwords a service should never accept; says which rule failed. The minimum is
 * COFFER_PASSWORD_MIN_LENGTH (8 by default, as NIST SP 800-63B asks; the older designs' demo
 * accounts, demo/demo and alain/pwd, need it lowered to 3).
 */
export function checkPasswordPolicy(password: unknown, minLength: number): string {
  if (typeof password !== 'string' || password.length === 0) throw badRequest('"password" is required.', 'weak_password');
  if ([...password].length < minLength) {
    throw badRequest(`The password must be at least ${minLength} characters long.`, 'weak_password');
  }
  if (Buffer.byteLength(password) > 1024) throw badRequest('The password must be at most 1024 bytes.', 'weak_password');
  if (COMMON.has(password.toLowerCase())) throw badRequest('That password is on every guessing list; choose another.', 'weak_password');
  return password;
}
