import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyIdOf, SecretBox } from '../src/crypto/secret-box';

describe('SecretBox (AES-256-GCM)', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.seal('data-import-key-123456', 'ws-1');
    expect(sealed).not.toContain('data-import-key');
    expect(sealed).not.toBe(box.seal('data-import-key-123456', 'ws-1'));
    expect(box.open(sealed, 'ws-1')).toBe('data-import-key-123456');
  });

  it('refuses another owner, another key, or a tampered value', () => {
    const sealed = box.seal('secret-value', 'ws-1');
    expect(() => box.open(sealed, 'ws-2')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'ws-1')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered!!!!').toString('base64url');
    expect(() => box.open(parts.join('.'), 'ws-1')).toThrow();
  });
});

describe('SecretBox key rotation', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  /** A value sealed the way it was before key ids (`v1.<iv>.<tag>.<ciphertext>`). */
  function sealV1(key: Buffer, plaintext: string, ad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(ad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), ciphertext]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  it('names the sealing key in the value, and never the key itself', () => {
    const sealed = new SecretBox([newKey, oldKey]).seal('secret-value', 'ws-1');
    expect(sealed.split('.').slice(0, 2)).toEqual(['v2', keyIdOf(newKey)]);
    expect(keyIdOf(newKey)).toMatch(/^[0-9a-f]{8}$/);
    expect(sealed).not.toContain(newKey.toString('hex'));
    expect(sealed).not.toContain(newKey.toString('base64url'));
  });

  it('opens values of an older key by its id, and says which key is missing once it is gone', () => {
    const byOld = new SecretBox(oldKey).seal('secret-value', 'ws-1');
    const rotated = new SecretBox([newKey, oldKey]);
    expect(rotated.open(byOld, 'ws-1')).toBe('secret-value');
    expect(rotated.isStale(byOld)).toBe(true);
    const resealed = rotated.seal(rotated.open(byOld, 'ws-1'), 'ws-1');
    expect(rotated.isStale(resealed)).toBe(false);
    const retired = new SecretBox([newKey]);
    expect(retired.open(resealed, 'ws-1')).toBe('secret-value');
    expect(() => retired.open(byOld, 'ws-1')).toThrow(`Sealed with key ${keyIdOf(oldKey)}`);
  });

  it('opens values sealed before key ids with whichever configured key sealed them', () => {
    const legacy = sealV1(oldKey, 'secret-value', 'ws-1');
    expect(new SecretBox(oldKey).open(legacy, 'ws-1')).toBe('secret-value');
    expect(new SecretBox([newKey, oldKey]).open(legacy, 'ws-1')).toBe('secret-value');
    expect(new SecretBox([newKey, oldKey]).isStale(legacy)).toBe(true);
    expect(() => new SecretBox([newKey]).open(legacy, 'ws-1')).toThrow(/none of the configured/);
    expect(() => new SecretBox([newKey, oldKey]).open(legacy, 'ws-2')).toThrow();
  });

  it('refuses the same key twice and keys of the wrong size', () => {
    expect(() => new SecretBox([newKey, Buffer.from(newKey)])).toThrow(/same key twice/);
    expect(() => new SecretBox([newKey, randomBytes(16)])).toThrow(/32-byte/);
    expect(() => new SecretBox([])).toThrow();
  });
});
