/** Results on stdout: JSON for scripts (`--json`), aligned columns for people. */
import type { CliContext } from './context.js';

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLines(ctx: CliContext, lines: Iterable<string>): void {
  let text = '';
  for (const line of lines) text += line + '\n';
  if (text) ctx.stdout.write(text);
}

/** Rows as columns padded to their widest cell; the last column is not padded. */
export function printTable(ctx: CliContext, rows: string[][], options: { header?: string[]; alignRight?: number[] } = {}): void {
  const all = options.header ? [options.header, ...rows] : rows;
  if (all.length === 0) return;
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  const right = new Set(options.alignRight ?? []);
  printLines(
    ctx,
    all.map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 && !right.has(i) ? cell : right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  '),
    ),
  );
}

/** "2026-12-06T08:31:00.000Z" → "2026-12-06 08:31" (UTC), for listings. */
export function shortTime(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}
