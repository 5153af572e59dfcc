/**
 * The access line: one JSON line per request, in the format of the process's pino logger and to
 * its destination, built here and handed over once per event-loop turn.
 *
 * Why not `request.log.info(...)`: on a core serving ~20k KV GETs/s, pino's path for this one
 * line (a child logger per request, the fields serialised one by one, one stream write per line)
 * cost ~8 µs of the ~45 µs a request took; building the line here and writing a turn's lines at
 * once costs ~3 (bench/README.md, "The access line"). Every other log line, all of them rare,
 * stays with pino. A test holds the two formats equal.
 */
import pino from 'pino';

export interface AccessEntry {
  reqId: string;
  method: string;
  /** The path, without the query string. */
  path: string;
  status: number;
  ms: number;
  user: string | undefined;
}

const INFO = 30;

export class AccessLog {
  private pending: string[] = [];
  private scheduled = false;
  private readonly stream: pino.DestinationStream;
  /** The logger's bindings (pid, hostname), serialised by pino as it writes them after "time". */
  private readonly bindings: string;

  constructor(private readonly logger: pino.Logger) {
    const own = logger as unknown as Record<symbol, unknown>;
    this.stream = own[pino.symbols.streamSym] as pino.DestinationStream;
    this.bindings = own[pino.symbols.chindingsSym] as string;
    process.on('exit', this.flushAtExit);
  }

  write(e: AccessEntry): void {
    if (this.logger.levelVal > INFO) return;
    const user = e.user === undefined ? '' : `,"user":${JSON.stringify(e.user)}`;
    this.pending.push(
      `{"level":${INFO},"time":${Date.now()}${this.bindings},"reqId":${JSON.stringify(e.reqId)},"method":${JSON.stringify(e.method)},` +
        `"path":${JSON.stringify(e.path)},"status":${e.status},"ms":${e.ms}${user},"msg":"request"}\n`,
    );
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Writes what is waiting and stops listening for the process's exit (the server closes). */
  close(): void {
    this.flush();
    process.off('exit', this.flushAtExit);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const lines = this.pending.join('');
    this.pending = [];
    this.stream.write(lines);
  };

  /** At exit there is no next turn: what waits is written now (pino flushed its own buffer first). */
  private readonly flushAtExit = (): void => {
    this.flush();
    try {
      (this.stream as { flushSync?: () => void }).flushSync?.();
    } catch {
      // a destination already closed (the process is exiting either way)
    }
  };
}
