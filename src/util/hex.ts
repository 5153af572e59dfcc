/**
 * Hex-encoding straight into a buffer, for streams. `toString('hex')` would make a V8 string of
 * twice the chunk (128 KiB for a 64 KiB read), which lands in large-object space and waits there
 * for a full GC: a parcel's JSON download then held ~30 MiB more, and ran at half the speed.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Each byte's two lowercase hex digits as one 16-bit unit, in the platform's byte order. */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, b) => {
  const [hi, lo] = [...b.toString(16).padStart(2, '0')].map((c) => c.charCodeAt(0)) as [number, number];
  return LITTLE_ENDIAN ? hi | (lo << 8) : (hi << 8) | lo;
});

/** The lowercase hex of `bytes`, as ASCII bytes. */
export function hexOf(bytes: Uint8Array): Buffer {
  // A buffer of its own, so the 16-bit view below is aligned.
  const out = Buffer.allocUnsafeSlow(bytes.length * 2);
  const pairs = new Uint16Array(out.buffer, out.byteOffset, bytes.length);
  for (let i = 0; i < bytes.length; i++) pairs[i] = HEX_PAIRS[bytes[i]!]!;
  return out;
}
