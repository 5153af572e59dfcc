/**
 * The access line: one JSON line per request, in the format of the process's pino logger and to
 * its destination, built here and handed over once per event-loop turn.
 *
 * Why not `request.log.info(...)`: on a core serving ~20k KV GETs/s, pino's path for this one
 * line (a child logger per request, the fields serialised one by one, one stream write per line)
 * cost ~8–11 µs of the ~45 µs a request took; building the line here and writing a turn's lines
 * at once costs ~4–6 (bench/README.md, "The access line"). Every other log line, all of them
 * rare, stays with pino. Coffer's logger keeps pino's default format (server.ts), and a test holds
 * the two equal.
 */
import { writeSync } from 'node:fs';
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

/** The access logs not yet closed, for the one exit listener (a process may open many servers). */
const open = new Set<WeakRef<AccessLog>>();
let listeningForExit = false;

export class AccessLog {
  /** Lines waiting for the end of the turn; a flush is scheduled whenever there are any. */
  private pending: string[] = [];
  private readonly stream: pino.DestinationStream & { fd?: unknown };
  /** The logger's bindings (pid, hostname), serialised by pino as it writes them after "time". */
  private readonly bindings: string;
  private readonly ref = new WeakRef(this);

  constructor(private readonly logger: pino.Logger) {
    const own = logger as unknown as Record<symbol, unknown>;
    const stream = own[pino.symbols.streamSym] as AccessLog['stream'] | undefined;
    const bindings = own[pino.symbols.chindingsSym];
    // pino's symbols are its own: a logger from another copy of pino would not have them.
    if (typeof stream?.write !== 'function' || typeof bindings !== 'string') throw new Error('the access log needs the pino logger that Fastify was given (two copies of pino?)');
    this.stream = stream;
    this.bindings = bindings;
    open.add(this.ref);
    if (!listeningForExit) {
      listeningForExit = true;
      process.on('exit', () => {
        for (const ref of open) ref.deref()?.writeNowSync();
      });
    }
  }

  write(e: AccessEntry): void {
    if (this.logger.levelVal > INFO) return;
    const user = e.user === undefined ? '' : `,"user":${JSON.stringify(e.user)}`;
    this.pending.push(
      `{"level":${INFO},"time":${Date.now()}${this.bindings},"reqId":${JSON.stringify(e.reqId)},"method":${JSON.stringify(e.method)},` +
        `"path":${JSON.stringify(e.path)},"status":${e.status},"ms":${e.ms}${user},"msg":"request"}\n`,
    );
    if (this.pending.length === 1) setImmediate(this.flush);
  }

  /** Hands over what is waiting and leaves the exit listener's set (the server closes). */
  close(): void {
    this.flush();
    open.delete(this.ref);
  }

  private readonly flush = (): void => {
    const lines = this.take();
    if (lines !== undefined) this.stream.write(lines);
  };

  private take(): string | undefined {
    if (this.pending.length === 0) return undefined;
    const lines = this.pending.join('');
    this.pending = [];
    return lines;
  }

  /**
   * At exit there is no next turn, and a write handed to the destination now would never finish:
   * what waits goes straight to its file descriptor, after pino's own exit flush (registered
   * first, so run first).
   */
  writeNowSync(): void {
    const lines = this.take();
    if (lines === undefined) return;
    if (typeof this.stream.fd === 'number' && this.stream.fd >= 0) writeAllSync(this.stream.fd, lines);
    else this.stream.write(lines);
  }
}

/** Writes all of `text` to `fd`, waiting out a full non-blocking pipe for up to a second. */
function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  const giveUpAt = Date.now() + 1000;
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > giveUpAt) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}
