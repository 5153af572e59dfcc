/**
 * The data directory is private (SPEC §5): it holds the database (password hashes, every user's
 * values), the signing keys and the blobs. Created 0700; at every start, a directory or a file in
 * it that others could read is tightened (0700 / 0600), and the caller logs what was changed.
 * Blob shards are not walked (there may be millions): the 0700 directory above them shuts them.
 */
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const OTHERS = 0o077;

/** Makes `dir` private; resolves the paths whose modes it had to tighten. */
export async function securePrivateDir(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tightened: string[] = [];
  const tighten = async (file: string, isDir: boolean) => {
    const mode = (await stat(file)).mode & 0o777;
    if ((mode & OTHERS) === 0) return;
    await chmod(file, isDir ? 0o700 : 0o600);
    tightened.push(`${file} (${mode.toString(8)} -> ${isDir ? '700' : '600'})`);
  };
  await tighten(dir, true);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await tighten(full, true);
      if (entry.name === 'keys') {
        for (const key of await readdir(full, { withFileTypes: true })) if (key.isFile()) await tighten(path.join(full, key.name), false);
      }
    } else if (entry.isFile()) {
      await tighten(full, false);
    }
  }
  return tightened;
}
