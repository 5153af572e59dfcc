/** A random secret kept in a 0600 file of the data directory (one node's presign key). */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../util/atomic-file.js';

/** The secret in `file` (64 hex digits), or undefined when there is none. */
export async function readSecret(file: string): Promise<Buffer | undefined> {
  try {
    const hex = (await readFile(file, 'utf8')).trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} does not hold 64 hex digits; delete it to make a new one`);
    return Buffer.from(hex, 'hex');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The secret in `file`, made on first use (32 random bytes). */
export async function loadOrCreateSecret(file: string): Promise<Buffer> {
  const kept = await readSecret(file);
  if (kept) return kept;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  await writeFileAtomic(file, secret.toString('hex') + '\n');
  return secret;
}
