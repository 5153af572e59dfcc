import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { decodeBinary, parsePublicKey, verifySignature } from '../../src/keys/public-keys.js';
import { CofferError } from '../../src/errors.js';

// SPEC §2 test vector (from AMO's public tests).
const T =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiMUU2QzE1MjhFNEMwNEY1Qzg3OUJFMzBGNUE2MjEyMUNFMzQzMzA4QiIsIm9wZXJhdGlvbiI6eyJuYW1lIjoidXBsb2FkIiwiaGFzaCI6IjI1ZmMwZTcwOTZmYzY1MzcxODIwMmRjMzBiMGM1ODBiOGFiODdlYWMxMWE3MDBjYmEwM2E3YzAyMWJjMzViMGMifSwiaXNzIjoiYW1vLXN0b3JhZ2UiLCJqdGkiOiIwZDIzMmYwNS1lNDFkLTRjOTQtOTE2Yy1hMzUyY2VmODRjZjIiLCJpYXQiOjE2MjE5Mjg5NDl9.QXsw0KZ8wp1pvSiNDRydz3h7iMJ1kZ_ws65aYdnp6Qs';
const K = '043d1eb42f40fd27c1fb59179445179365f6212e1a0c5013487b50ce3144ed301d423499aaa77443c3f4d9877bb05210748fdeaf92a5a37947204c5461ba8a79d9';
const S = 'cb7cd4dcd55d707b88f66a5ed5dc62a834781c334fedcf19bfa25b75a3c8a901567c5661f6ded29307880f5cfc93085bad2ac881560b2982e409914606f1c476';

const refused = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof CofferError && e.status === 400 && message.test(e.message));

test('the SPEC test vector: AMO address and signature', () => {
  const key = parsePublicKey(K);
  assert.equal(key.type, 'p256');
  assert.equal(key.address, '1E6C1528E4C04F5C879BE30F5A62121CE343308B');
  assert.equal(verifySignature(key, Buffer.from(T, 'ascii'), S), true);
  assert.equal(verifySignature(key, Buffer.from(T + 'x', 'ascii'), S), false, 'other bytes');
  assert.equal(verifySignature(parsePublicKey(K.toUpperCase()), Buffer.from(T), Buffer.from(S, 'hex').toString('base64url')), true, 'uppercase hex key, base64url signature');
});

test('binary text: even-length hex is hex, anything else base64 (either alphabet, padded or not)', () => {
  assert.deepEqual(decodeBinary('0aFF', 'x'), Buffer.from([0x0a, 0xff]));
  assert.deepEqual(decodeBinary('AAE', 'x'), Buffer.from([0, 1]), 'odd length: base64');
  assert.deepEqual(decodeBinary('-_8', 'x'), Buffer.from('-_8', 'base64url'));
  assert.deepEqual(decodeBinary('+/8=', 'x'), Buffer.from([0xfb, 0xff]));
  refused(() => decodeBinary('not base64!', 'key'), /neither hex nor base64/);
});

test('every accepted form of every key type parses to the same id; P-256 has an address', () => {
  const ed = generateKeyPairSync('ed25519').publicKey;
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  for (const [pub, type] of [[ed, 'ed25519'], [p256, 'p256'], [rsa, 'rsa']] as const) {
    const spki = pub.export({ format: 'der', type: 'spki' });
    const id = createHash('sha256').update(spki).digest('hex');
    const forms = [pub.export({ format: 'pem', type: 'spki' }).toString(), spki.toString('hex'), spki.toString('base64'), spki.toString('base64url').replace(/=+$/, '')];
    if (type === 'rsa') forms.push(pub.export({ format: 'pem', type: 'pkcs1' }).toString(), pub.export({ format: 'der', type: 'pkcs1' }).toString('base64'));
    const jwk = pub.export({ format: 'jwk' });
    if (type === 'ed25519') forms.push(Buffer.from(jwk.x!, 'base64url').toString('hex'));
    if (type === 'p256') {
      const x = Buffer.from(jwk.x!, 'base64url');
      const y = Buffer.from(jwk.y!, 'base64url');
      forms.push(Buffer.concat([Buffer.from([4]), x, y]).toString('hex'));
      forms.push(Buffer.concat([Buffer.from([(y[31]! & 1) === 1 ? 3 : 2]), x]).toString('base64'), 'compressed');
    }
    for (const form of forms.filter((f) => f !== 'compressed')) {
      const parsed = parsePublicKey(form);
      assert.equal(parsed.type, type, `${type}: ${form.slice(0, 30)}`);
      assert.equal(parsed.id, id);
      if (type === 'p256') assert.match(parsed.address!, /^[0-9A-F]{40}$/);
      else assert.equal(parsed.address, undefined);
    }
  }
});

test('weak, unsupported and malformed keys are refused with a message that says why', () => {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  refused(() => parsePublicKey(rsa1024), /1024 bits; at least 2048/);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  refused(() => parsePublicKey(p384), /not accepted: use Ed25519, P-256 or RSA/);
  const offCurve = '04' + '11'.repeat(64);
  refused(() => parsePublicKey(offCurve), /not a point on the P-256 curve/);
  refused(() => parsePublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'), /PEM is not a public key/);
  refused(() => parsePublicKey('00'.repeat(40)), /not a public key in a form/);
  refused(() => parsePublicKey(''), /Send the public key/);
});

test('signatures: Ed25519; P-256 raw and DER, high-S too; RSA PKCS#1 v1.5 and PSS with any salt', () => {
  const message = Buffer.from('the exact bytes of a challenge token');
  const ed = generateKeyPairSync('ed25519');
  const edKey = parsePublicKey(ed.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  assert.equal(verifySignature(edKey, message, sign(null, message, ed.privateKey).toString('hex')), true);

  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecKey = parsePublicKey(ec.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  const raw = sign('sha256', message, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  assert.equal(verifySignature(ecKey, message, raw.toString('hex')), true, 'raw r||s');
  assert.equal(verifySignature(ecKey, message, sign('sha256', message, ec.privateKey).toString('base64')), true, 'DER');
  // The same signature with s replaced by n - s (its high-S twin) is valid too.
  const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const s = BigInt('0x' + raw.subarray(32).toString('hex'));
  const twin = Buffer.concat([raw.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
  assert.equal(verifySignature(ecKey, message, twin.toString('hex')), true, 'high-S (or low-S) twin');

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaKey = parsePublicKey(rsa.publicKey.export({ format: 'pem', type: 'pkcs1' }).toString());
  assert.equal(verifySignature(rsaKey, message, sign('sha256', message, rsa.privateKey).toString('base64')), true, 'PKCS#1 v1.5');
  for (const saltLength of [0, 32, 222]) {
    const pss = sign('sha256', message, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
    assert.equal(verifySignature(rsaKey, message, pss.toString('base64url')), true, `PSS salt ${saltLength}`);
  }

  for (const [key, bad] of [[edKey, 'zz'], [ecKey, '00'.repeat(64)], [rsaKey, 'not a signature!'], [ecKey, '']] as const) {
    assert.equal(verifySignature(key, message, bad), false);
  }
  assert.equal(verifySignature(edKey, Buffer.from('other'), sign(null, message, ed.privateKey).toString('hex')), false);
});
