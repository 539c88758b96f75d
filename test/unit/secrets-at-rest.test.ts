import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  clientSecretMatches,
  generateClientSecret,
  hashClientSecret,
} from '../../src/infra/client-secrets.js';
import { open, seal } from '../../src/infra/secret-box.js';

describe('secret box (AES-256-GCM at rest)', () => {
  const key = randomBytes(32);

  it('round-trips a secret bound to its record', () => {
    const sealed = seal(key, '{"d":"private"}', 'signing-key:k1');
    expect(sealed).not.toContain('private');
    expect(open(key, sealed, 'signing-key:k1')).toBe('{"d":"private"}');
  });

  it.each([
    ['another key', (sealed: string) => open(randomBytes(32), sealed, 'signing-key:k1')],
    ['another record (copied ciphertext)', (sealed: string) => open(key, sealed, 'signing-key:k2')],
    [
      'a tampered ciphertext',
      (sealed: string) => open(key, sealed.replace(/\.(.)/, '.A$1'), 'signing-key:k1'),
    ],
    ['an unknown format', () => open(key, 'v9.a.b.c', 'signing-key:k1')],
  ])('refuses to open with %s', (_name, attempt) => {
    const sealed = seal(key, 'secret', 'signing-key:k1');
    expect(() => attempt(sealed)).toThrow();
  });
});

describe('client secrets (ADR 0002)', () => {
  it('generates 256-bit secrets that differ every time', () => {
    const first = generateClientSecret();
    expect(Buffer.from(first, 'base64url')).toHaveLength(32);
    expect(generateClientSecret()).not.toBe(first);
  });

  it.each([
    ['the same secret', 'correct horse', 'correct horse', true],
    ['another secret', 'correct horse', 'battery staple', false],
    ['an empty secret', 'correct horse', '', false],
    ['the stored digest itself', 'correct horse', hashClientSecret('correct horse'), false],
  ])('matches %s: %s', (_name, stored, presented, expected) => {
    expect(clientSecretMatches(presented, hashClientSecret(stored))).toBe(expected);
  });

  it('never stores the secret itself', () => {
    expect(hashClientSecret('correct horse')).not.toContain('correct horse');
  });
});
