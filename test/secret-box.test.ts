import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../src/crypto/secret-box';

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
