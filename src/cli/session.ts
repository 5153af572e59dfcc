/**
 * The saved session: `$XDG_CONFIG_HOME/coffer/session.json` (else `~/.config/...`), the directory
 * 0700 and the file 0600 because it holds a refresh token. It keeps the server URL, the user name
 * and the token pair; the client's onTokens rewrites it after every refresh, and logout removes it.
 */
import { chmod, mkdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';

export interface Session {
  url: string;
  username?: string;
  /** Absent after the session ended (logout keeps nothing; a refused refresh keeps the URL). */
  access_token?: string;
  refresh_token?: string;
  /** Epoch milliseconds when the access token expires (informational). */
  expires_at?: number;
}

export function sessionFile(configHome: string): string {
  return path.join(configHome, 'coffer', 'session.json');
}

export async function readSession(configHome: string): Promise<Session | undefined> {
  let text: string;
  try {
    text = await readFile(sessionFile(configHome), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const s = JSON.parse(text) as Session;
    return typeof s.url === 'string' ? s : undefined;
  } catch {
    return undefined; // a damaged file is as good as none: login writes a new one
  }
}

export async function writeSession(configHome: string, session: Session): Promise<void> {
  const file = sessionFile(configHome);
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // an existing directory others could read is tightened
  await writeFileAtomic(file, JSON.stringify(session, null, 2) + '\n', 0o600);
}

export async function removeSession(configHome: string): Promise<boolean> {
  try {
    await unlink(sessionFile(configHome));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
