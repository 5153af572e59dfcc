/** `coffer keygen`: a key pair for a client that signs instead of sending a password. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { isValidUsername, USERNAME_RULE } from '../users/username.js';

type KeygenType = 'rsa' | 'ed25519' | 'p256';

export async function keygen(options: { location: string; user: string; type: string }): Promise<void> {
  const type = options.type as KeygenType;
  if (!['rsa', 'ed25519', 'p256'].includes(type)) throw new Error(`--type must be rsa, ed25519 or p256 (not ${options.type})`);
  if (!isValidUsername(options.user)) throw new Error(`--user must be ${USERNAME_RULE}`);
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privatePem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  await mkdir(options.location, { recursive: true });
  const privateFile = path.join(options.location, `${options.user}_private.pem`);
  const publicFile = path.join(options.location, `${options.user}_public.pem`);
  // 'wx' refuses to overwrite: a key pair someone relies on is never replaced by accident.
  for (const [file, text, mode] of [[privateFile, privatePem, 0o600], [publicFile, publicPem, 0o644]] as const) {
    let handle;
    try {
      handle = await open(file, 'wx', mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${file} exists; not overwriting it (remove it first to make a new pair)`);
      throw e;
    }
    await handle.writeFile(text);
    await handle.close();
  }
  process.stdout.write(`${privateFile}\n${publicFile}\n`);
}
