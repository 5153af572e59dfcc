/** Web streams for uploads and downloads: any body as a ReadableStream, and byte counting for progress. */

export type UploadBody = Blob | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** The body's length when it can be known without reading it. */
export function knownSize(body: UploadBody): number | undefined {
  if (body instanceof Blob) return body.size;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return body.byteLength;
  return undefined;
}

/** Is this body one a retry can send again (not a stream read once)? */
export function isReplayable(body: UploadBody): body is Blob | Uint8Array | ArrayBuffer {
  return body instanceof Blob || body instanceof Uint8Array || body instanceof ArrayBuffer;
}

const CHUNK = 256 * 1024;

/** Any upload body as a fresh ReadableStream of bytes. */
export function toStream(body: UploadBody): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body;
  if (body instanceof Blob) return body.stream() as ReadableStream<Uint8Array>;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    const bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
    let offset = 0;
    // Slices, so progress moves as the bytes leave rather than in one jump.
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        const end = Math.min(offset + CHUNK, bytes.length);
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
    });
  }
  const iterator = Symbol.asyncIterator in body ? (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() : (body as Iterable<Uint8Array>)[Symbol.iterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) return controller.close();
      controller.enqueue(value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBufferLike));
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

/** Passes bytes through, telling `onProgress` how many went by so far. */
export function counting(onProgress: (bytes: number, total: number | undefined) => void, total: number | undefined): TransformStream<Uint8Array, Uint8Array> {
  let count = 0;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      count += chunk.byteLength;
      controller.enqueue(chunk);
      onProgress(count, total);
    },
  });
}

/** Node's fetch (and the CLI's) take an async iterable body; browsers' do not. */
const IN_NODE = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

/** Is this a body to hand to fetch as it is: an async iterable (not a web stream), in Node? */
export function passesIterables(body: UploadBody): body is AsyncIterable<Uint8Array> {
  return IN_NODE && !(body instanceof ReadableStream) && typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

/** Passes an async iterable's chunks through, telling `onProgress` how many bytes went by. */
export async function* countingIterable(
  body: AsyncIterable<Uint8Array>,
  onProgress: (bytes: number, total: number | undefined) => void,
  total: number | undefined,
): AsyncGenerator<Uint8Array> {
  let count = 0;
  for await (const chunk of body) {
    yield chunk;
    count += chunk.byteLength;
    onProgress(count, total);
  }
}
