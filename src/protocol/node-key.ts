/**
 * jose's keys (WebCrypto CryptoKeys) as node:crypto KeyObjects, for signing (mint.ts) and
 * verifying (jws-verify.ts) in the request thread instead of through WebCrypto (ADR 0021 addendum).
 */
import { KeyObject } from 'node:crypto';
import type { CryptoKey } from 'jose';

/** The node:crypto form of each key, made once per key (a CryptoKey never changes). */
const nodeKeys = new WeakMap<CryptoKey, KeyObject>();

export function nodeKeyOf(key: CryptoKey): KeyObject {
  let nodeKey = nodeKeys.get(key);
  if (!nodeKey) {
    nodeKey = KeyObject.from(key);
    nodeKeys.set(key, nodeKey);
  }
  return nodeKey;
}
