import type { Compilable, Kysely } from 'kysely';

const MARK = '\u0000coffer-param:';

/**
 * The SQL of every prepared query. On PostgreSQL these run as named statements (database.ts),
 * parsed and planned once per connection instead of on every run; other SQL stays unnamed, so
 * queries whose text varies (lists of values) do not pile up on the server.
 */
export const preparedSql = new Set<string>();

export type PreparedQuery<P, R> = (params: P, db?: Kysely<any>) => Promise<R[]>;

/**
 * A query built and compiled once and run many times with new parameters. Kysely otherwise
 * rebuilds and recompiles a query on every call, which on the hot path costs more than SQLite
 * takes to run it. `build` receives placeholders in place of the parameters; at run time each
 * placeholder in the compiled parameter list is swapped for its value, so their order does not
 * matter. Only for queries whose shape does not depend on the values.
 */
export function prepareQuery<P extends Record<string, unknown>, R>(
  { db }: { db: Kysely<any> },
  names: readonly (keyof P & string)[],
  build: (p: P) => Compilable<R>,
): PreparedQuery<P, R> {
  const placeholders = Object.fromEntries(names.map((n) => [n, MARK + n])) as P;
  const compiled = build(placeholders).compile();
  preparedSql.add(compiled.sql);
  const slots = compiled.parameters.map((v) => (typeof v === 'string' && v.startsWith(MARK) ? v.slice(MARK.length) : undefined));
  const unused = names.filter((n) => !slots.includes(n));
  if (unused.length > 0) throw new Error(`prepared query does not use ${unused.join(', ')}: ${compiled.sql}`);
  return async (params, executor = db) => {
    const parameters = compiled.parameters.map((v, i) => (slots[i] === undefined ? v : params[slots[i]!]));
    const result = await executor.executeQuery<R>({ ...compiled, parameters });
    return result.rows;
  };
}
