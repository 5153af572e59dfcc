/** SigningKeyStore in `<data dir>/keys/jwt-signing-keys.json` (mode 0600, written atomically). */
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SigningKeyStore, StoredSigningKey } from '../../auth/signing-key-store.js';
import { writeFileAtomic } from '../../util/atomic-file.js';

export class FileSigningKeyStore implements SigningKeyStore {
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'keys', 'jwt-signing-keys.json');
  }

  async load(): Promise<StoredSigningKey[]> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      if (!Array.isArray(parsed)) throw new Error('not a JSON array');
      return parsed as StoredSigningKey[];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new Error(`cannot read the signing keys in ${this.file}: ${(e as Error).message}`);
    }
  }

  async rotate(key: StoredSigningKey, retireOthersAt: number, now: number): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const kept = await this.load();
    for (const k of kept) k.retireAt ??= retireOthersAt;
    kept.push(key);
    await writeFileAtomic(this.file, JSON.stringify(kept.filter((k) => k.retireAt === undefined || k.retireAt > now), null, 2));
  }

  async version(): Promise<string> {
    const s = await stat(this.file).catch(() => undefined);
    return String(s?.mtimeMs ?? 0);
  }
}
