/**
 * argon2 in worker threads at the lowest CPU priority (nice 19, set per thread by the worker).
 * A hash takes a core for ~50 ms. Computed on libuv's pool at normal priority, a storm of logins
 * took the event loop's core wherever Coffer has one core (pinned, or a one-CPU container):
 * other clients' GET p99 went from 9 ms to seconds (bench/login-storm.ts). At nice 19 a hash gets
 * the time the event loop leaves. PasswordHasher bounds how many run at once; a worker is made
 * when a job finds none idle, and ends after IDLE_MS without work. An idle worker holds ~7 MiB
 * and a new one starts in ~30 ms: a storm keeps its workers, a login after a quiet second pays
 * the start, and an idle server gives the memory back.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const IDLE_MS = 1000;

interface HashJob {
  id: number;
  password: string;
  /** With a stored hash: verify against it; without: make a new hash. */
  hash?: string;
}

type HashAnswer = { id: number; result: string | boolean } | { id: number; error: string };

/**
 * The worker, as plain JavaScript (it runs the same from dist/ and from source under tsx). It
 * lowers its own thread's priority (on Linux, setpriority on a thread changes that thread only),
 * then answers one job at a time. A stored hash that is not argon2 verifies nothing.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { hashSync, verifySync } = require(workerData.argon2);
try { require('node:os').setPriority(19); } catch {}
parentPort.on('message', (job) => {
  let answer;
  try {
    let result;
    if (job.hash === undefined) result = hashSync(job.password, workerData.options);
    else try { result = verifySync(job.hash, job.password); } catch { result = false; }
    answer = { id: job.id, result };
  } catch (e) {
    answer = { id: job.id, error: String(e && e.message || e) };
  }
  parentPort.postMessage(answer);
});
`;

interface Running {
  resolve: (result: string | boolean) => void;
  reject: (error: Error) => void;
}

export class HashWorkers {
  private readonly idle: Array<{ worker: Worker; timer: NodeJS.Timeout }> = [];
  private readonly running = new Map<number, Running>();
  private nextId = 0;

  constructor(private readonly options: object) {}

  hash(password: string): Promise<string> {
    return this.run({ password }) as Promise<string>;
  }

  verify(stored: string, password: string): Promise<boolean> {
    return this.run({ hash: stored, password }) as Promise<boolean>;
  }

  /** Ends every worker (at shutdown); jobs still running are refused. */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map(({ worker, timer }) => (clearTimeout(timer), worker.terminate())));
  }

  private run(job: Omit<HashJob, 'id'>): Promise<string | boolean> {
    const worker = this.takeIdle() ?? this.spawn();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.running.set(id, { resolve, reject });
      const done = (answer: HashAnswer) => {
        if (answer.id !== id) return;
        worker.off('message', done);
        worker.off('error', failed);
        this.running.delete(id);
        this.release(worker);
        if ('error' in answer) reject(new Error(`password hashing failed: ${answer.error}`));
        else resolve(answer.result);
      };
      const failed = (error: Error) => {
        this.running.delete(id);
        reject(error); // the worker is gone: the next job makes a new one
      };
      worker.ref(); // a job keeps the process alive; an idle worker does not
      worker.on('message', done);
      worker.once('error', failed);
      worker.postMessage({ id, ...job } satisfies HashJob);
    });
  }

  private takeIdle(): Worker | undefined {
    const entry = this.idle.pop();
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    return entry.worker;
  }

  private release(worker: Worker): void {
    worker.unref();
    const timer = setTimeout(() => {
      const at = this.idle.findIndex((e) => e.worker === worker);
      if (at >= 0) this.idle.splice(at, 1);
      void worker.terminate();
    }, IDLE_MS);
    timer.unref();
    this.idle.push({ worker, timer });
  }

  private spawn(): Worker {
    const argon2 = createRequire(import.meta.url).resolve('@node-rs/argon2');
    return new Worker(WORKER, { eval: true, workerData: { argon2, options: this.options } });
  }
}
