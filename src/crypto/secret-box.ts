import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A key's public name in sealed values: 8 hex of its SHA-256, enough to pick it, too little to learn from. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * AES-256-GCM for secrets at rest (data import keys). Sealed form: `v2.<key id>.<iv>.<tag>.<ciphertext>`,
 * base64url parts, sealed with the newest key and opened with the key its id names, so
 * ENCRYPTION_KEYS can rotate. `v1.<iv>.<tag>.<ciphertext>` (before key ids) still opens: each
 * configured key is tried, GCM's tag telling the right one. The associated data binds a sealed
 * value to its owner (the workspace id), so a sealed key copied into another row does not open.
 */
export class SecretBox {
  private readonly keys: { id: string; key: Buffer }[];

  /** `keys`: newest first; the first seals, all of them open. */
  constructor(keys: Buffer | readonly Buffer[]) {
    const list = Buffer.isBuffer(keys) ? [keys] : [...keys];
    if (list.length === 0) throw new Error('SecretBox needs a key');
    if (list.some((k) => k.length !== 32)) throw new Error('SecretBox needs 32-byte keys');
    this.keys = list.map((key) => ({ id: keyIdOf(key), key }));
    if (new Set(this.keys.map((k) => k.id)).size !== this.keys.length) {
      throw new Error('SecretBox was given the same key twice');
    }
  }

  /** The id of the key that seals. */
  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  seal(plaintext: string, associatedData: string): string {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v2', id, ...[iv, tag, ciphertext].map((p) => p.toString('base64url'))].join('.');
  }

  open(sealed: string, associatedData: string): string {
    const parts = sealed.split('.');
    if (parts[0] === 'v2' && parts.length === 5) {
      const [, id, iv, tag, ciphertext] = parts as [string, string, string, string, string];
      const entry = this.keys.find((k) => k.id === id);
      if (!entry) throw new Error(`Sealed with key ${id}, which is not among the configured encryption keys`);
      return decrypt(entry.key, iv, tag, ciphertext, associatedData);
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      const [, iv, tag, ciphertext] = parts as [string, string, string, string];
      for (const { key } of this.keys) {
        try {
          return decrypt(key, iv, tag, ciphertext, associatedData);
        } catch {
          // Not this key (or tampered): GCM's tag refused it; the next key may be the one.
        }
      }
      throw new Error('Sealed before key ids, with none of the configured encryption keys');
    }
    throw new Error('Unrecognised sealed secret');
  }

  /** Whether a sealed value is under an older key (or has no key id) and should be sealed again. */
  isStale(sealed: string): boolean {
    return !sealed.startsWith(`v2.${this.currentKeyId}.`);
  }
}

function decrypt(key: Buffer, iv: string, tag: string, ciphertext: string, associatedData: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

export function lastFour(secret: string): string {
  return secret.slice(-4);
}
