/**
 * `coffer cert`: a self-signed TLS certificate and its key, for development (COFFER_TLS_CERT,
 * COFFER_TLS_KEY). Node can make keys but not X.509 certificates: @peculiar/x509 builds it over
 * WebCrypto (with reflect-metadata, the polyfill its dependency injection needs); both are imported
 * only here, so no other command pays for loading them.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import type { CliContext } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';

export interface CertOptions {
  out: string;
  name: string[];
  days: string;
  type: string;
  force?: boolean;
  json?: boolean;
}

const ALGORITHMS = {
  p256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  rsa: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ed25519: { name: 'Ed25519' },
} as const;

export async function makeCert(ctx: CliContext, options: CertOptions): Promise<void> {
  const days = Number(options.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw usageError('--days must be a whole number from 1 to 3650');
  const algorithm = ALGORITHMS[options.type as keyof typeof ALGORITHMS];
  if (!algorithm) throw usageError(`--type must be p256, rsa or ed25519 (not ${options.type})`);
  const names = options.name.length > 0 ? options.name : ['localhost', '127.0.0.1', '::1'];
  // @peculiar/x509 2 resolves its parsers through tsyringe, which needs a Reflect metadata polyfill loaded first.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as Crypto);
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const commonName = names.find((n) => !isIP(n)) ?? names[0]!;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + randomBytes(15).toString('hex'),
    name: new x509.Name([{ CN: [commonName] }, { O: ['Coffer development'] }]),
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  const certPem = cert.toString('pem').replace(/\r\n/g, '\n').replace(/\n?$/, '\n');

  await mkdir(options.out, { recursive: true });
  const certFile = path.join(options.out, 'cert.pem');
  const keyFile = path.join(options.out, 'key.pem');
  for (const [file, text, mode] of [[keyFile, keyPem, 0o600], [certFile, certPem, 0o644]] as const) {
    let handle;
    try {
      handle = await open(file, options.force ? 'w' : 'wx', mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${file} exists; not overwriting it`, EXIT.conflict, 'pass --force to replace it, or --out another directory');
      throw e;
    }
    try {
      await handle.chmod(mode);
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
  }
  const fingerprint = Buffer.from(await cert.getThumbprint('SHA-256')).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
  if (options.json) {
    ctx.stdout.write(JSON.stringify({ cert: certFile, key: keyFile, names, not_after: notAfter.toISOString(), sha256_fingerprint: fingerprint }) + '\n');
    return;
  }
  ctx.stdout.write(`${certFile}\n${keyFile}\n`);
  ctx.stderr.write(
    `A self-signed certificate for ${names.join(', ')}, valid until ${notAfter.toISOString().slice(0, 10)} (SHA-256 ${fingerprint}).\n` +
      `Serve with it:  COFFER_TLS_CERT=${certFile} COFFER_TLS_KEY=${keyFile} coffer serve\n` +
      `Trust it in Node clients:  NODE_EXTRA_CA_CERTS=${certFile} coffer login https://localhost:8080\n`,
  );
}
