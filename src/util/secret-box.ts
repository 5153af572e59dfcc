/**
 * Secrets at rest in the shared database (signing keys, the presign secret), sealed with
 * AES-256-GCM under a key derived from COFFER_SECRET_KEY (HKDF-SHA256, one key per purpose).
 * Whoever reads the database without COFFER_SECRET_KEY learns nothing and can forge nothing.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';

const VERSION = 'v1';

export class SecretBox {
  private readonly key: Buffer;

  constructor(secretKey: string, purpose: string) {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, 'coffer', `coffer ${purpose}`, 32));
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url')}`;
  }

  open(sealed: string): string {
    const [version, body] = sealed.split('.');
    if (version !== VERSION || !body) throw new ConfigError('A secret in the database is not one Coffer sealed.');
    const bytes = Buffer.from(body, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new ConfigError('COFFER_SECRET_KEY does not open the secrets in the database: every node needs the same COFFER_SECRET_KEY.');
    }
  }
}
