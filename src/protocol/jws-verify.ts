/**
 * jose's `jwtVerify` for a compact JWS, with the signature checked by node:crypto in this thread.
 * WebCrypto, which jose uses, costs about twice the CPU per verification (a promise, algorithm
 * normalisation and a thread-pool job around the same OpenSSL call). Used wherever a JWT's
 * signature is verified: trusted issuers' subject and actor tokens, client assertions, workload
 * credentials, peer authorization grants, DPoP proofs (verifyJwtWithEmbeddedJwk), and this
 * service's own tokens where their lineage record holds no digest (own-token.ts, ADR 0028).
 *
 * The steps, in jose's order, with jose's error classes and messages: the header parsed as jose
 * parses it; `alg` on the allow-list (JOSEAlgNotAllowed); the key resolved by calling a key
 * function as jose does (`getKey(protectedHeader, token)`, so JWKSNoMatchingKey,
 * JWKSMultipleMatchingKeys, JWKSTimeout ... reach the caller unchanged); the key checked against
 * the algorithm as jose's prepareKey and checkCryptoKey do (a public key, its WebCrypto algorithm,
 * hash, curve and usages, an RSA modulus of at least 2048 bits: TypeError); the signature over the
 * first two parts as sent (JWSSignatureVerificationFailed); then jose's own claim validation with
 * the same options (UnsecuredJWT.decode of a `none` header carrying only the token's `typ`, the one
 * header parameter the claim checks read).
 *
 * Whatever this path does not cover is handed to jwtVerify itself, so its outcome is jose's by
 * construction: a malformed token or header, a `crit` or `b64` header parameter (RFC 7515 §4.1.11,
 * RFC 7797), an algorithm outside the table below (HMAC, ML-DSA, unknown), a `crit` option, and a
 * resolved key that is not a CryptoKey (a KeyObject, a JWK, bytes).
 */
import { constants, verify as verifySignature, type VerifyKeyObjectInput } from 'node:crypto';
import {
  base64url,
  EmbeddedJWK,
  errors as joseErrors,
  jwtVerify,
  UnsecuredJWT,
  type CryptoKey,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  type ProtectedHeaderParameters,
} from 'jose';
import { nodeKeyOf } from './node-key.js';

/** What node:crypto needs per algorithm, and what jose requires of a CryptoKey for it. */
interface Algorithm {
  /** The CryptoKey's `algorithm.name` jose requires (lib/jws_algorithms.js). */
  readonly keyName: 'ECDSA' | 'RSASSA-PKCS1-v1_5' | 'RSA-PSS' | 'Ed25519';
  /** node:crypto's digest; null for Ed25519, which hashes internally. */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  /** RSA: the CryptoKey's `algorithm.hash.name`, bound at import. */
  readonly keyHash?: string;
  /** ECDSA: the CryptoKey's `algorithm.namedCurve`, and R || S's length (RFC 7518 §3.4). */
  readonly curve?: string;
  readonly signatureBytes?: number;
  /** RSA-PSS: the salt is as long as the hash (RFC 7518 §3.5). */
  readonly saltLength?: number;
}

function ecdsa(curve: string, bits: 256 | 384 | 512, signatureBytes: number): Algorithm {
  return { keyName: 'ECDSA', digest: `sha${bits}`, curve, signatureBytes };
}
function pkcs1(bits: 256 | 384 | 512): Algorithm {
  return { keyName: 'RSASSA-PKCS1-v1_5', digest: `sha${bits}`, keyHash: `SHA-${bits}` };
}
function pss(bits: 256 | 384 | 512): Algorithm {
  return { keyName: 'RSA-PSS', digest: `sha${bits}`, keyHash: `SHA-${bits}`, saltLength: bits / 8 };
}
const ED25519: Algorithm = { keyName: 'Ed25519', digest: null };

const ALGORITHMS: ReadonlyMap<string, Algorithm> = new Map([
  ['ES256', ecdsa('P-256', 256, 64)],
  ['ES384', ecdsa('P-384', 384, 96)],
  ['ES512', ecdsa('P-521', 512, 132)],
  ['RS256', pkcs1(256)],
  ['RS384', pkcs1(384)],
  ['RS512', pkcs1(512)],
  ['PS256', pss(256)],
  ['PS384', pss(384)],
  ['PS512', pss(512)],
  ['EdDSA', ED25519],
  ['Ed25519', ED25519],
]);

/** The JWS header parameters that only jose's own path handles. */
const DELEGATED_HEADER_PARAMETERS = ['crit', 'b64'] as const;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const NON_ASCII = /[\u0080-\uffff]/;

/** A key, or a function resolving one from the header as createLocalJWKSet/createRemoteJWKSet do. */
export type JwsVerificationKey = CryptoKey | JWTVerifyGetKey;

export interface JwsVerifyResult extends JWTVerifyResult {
  /** The key a key function resolved, as jwtVerify returns it. */
  readonly key?: CryptoKey;
}

/** What jwtVerify(token, key, options) does, with the signature checked by node:crypto. */
export async function verifyJwt(
  token: string,
  key: JwsVerificationKey,
  options: JWTVerifyOptions = {},
): Promise<JwsVerifyResult> {
  const parts = typeof token === 'string' ? token.split('.') : [];
  const header = parts.length === 3 && options.crit === undefined ? parseHeader(parts[0] as string) : null;
  const algorithm = header && typeof header.alg === 'string' ? ALGORITHMS.get(header.alg) : undefined;
  if (!header || !algorithm || DELEGATED_HEADER_PARAMETERS.some((name) => name in header)) {
    return jwtVerify(token, key as never, options);
  }
  const protectedHeader = header as JWTHeaderParameters;
  const { alg } = protectedHeader;
  const [, payload, signature] = parts as [string, string, string];
  if (options.algorithms !== undefined) {
    if (!Array.isArray(options.algorithms) || options.algorithms.some((entry) => typeof entry !== 'string'))
      throw new TypeError('"algorithms" option must be an array of strings');
    if (!options.algorithms.includes(alg))
      throw new joseErrors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }
  const resolved = typeof key === 'function';
  const verificationKey: unknown = resolved
    ? await key(protectedHeader, { payload, protected: parts[0] as string, signature })
    : key;
  if (!isCryptoKey(verificationKey)) {
    // A KeyObject, a JWK or bytes: jose's own preparation (and error) for it.
    return jwtVerify(token, resolved ? () => verificationKey as never : (verificationKey as never), options);
  }
  if (NON_ASCII.test(payload)) throw new joseErrors.JWSInvalid('The payload is not a valid base64url string');
  const signatureBytes = decode(signature, 'signature');
  checkKey(alg, algorithm, verificationKey);
  if (!signatureMatches(algorithm, token.slice(0, token.lastIndexOf('.')), verificationKey, signatureBytes))
    throw new joseErrors.JWSSignatureVerificationFailed();
  const claims = validateJwtClaims(protectedHeader, payload, options);
  return resolved
    ? { payload: claims, protectedHeader, key: verificationKey }
    : { payload: claims, protectedHeader };
}

/**
 * jwtVerify(token, EmbeddedJWK, options): the key is the public JWK in the token's own `jwk`
 * header (RFC 7515 §4.1.3), as in a DPoP proof (RFC 9449 §4.2), imported and checked by jose's
 * EmbeddedJWK; the signature is checked by node:crypto.
 */
export function verifyJwtWithEmbeddedJwk(
  token: string,
  options: JWTVerifyOptions = {},
): Promise<JwsVerifyResult> {
  return verifyJwt(token, EmbeddedJWK, options);
}

/** The header as jose parses it (lib/validate.js parseJoseHeader), or null where jose would refuse it. */
function parseHeader(encoded: string): ProtectedHeaderParameters | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(base64url.decode(encoded)));
  } catch {
    return null;
  }
  return isPlainObject(parsed) ? (parsed as ProtectedHeaderParameters) : null;
}

/** jose's isObject: a plain object, not an array, null or a class instance. */
function isPlainObject(input: unknown): input is Record<string, unknown> {
  if (
    typeof input !== 'object' ||
    input === null ||
    Object.prototype.toString.call(input) !== '[object Object]'
  )
    return false;
  const prototype: unknown = Object.getPrototypeOf(input);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

function isCryptoKey(key: unknown): key is CryptoKey {
  return (key as { [Symbol.toStringTag]?: unknown } | null)?.[Symbol.toStringTag] === 'CryptoKey';
}

function decode(value: string, label: string): Uint8Array {
  try {
    return base64url.decode(value);
  } catch (cause) {
    throw new joseErrors.JWSInvalid(`Failed to base64url decode the ${label}`, { cause });
  }
}

/** jose's prepareKey, checkCryptoKey and checkModulusLength for a CryptoKey (lib/key.js). */
function checkKey(alg: string, algorithm: Algorithm, key: CryptoKey): void {
  if (key.type !== 'public')
    throw new TypeError(`CryptoKey instances must be of type "public" for the ${alg} algorithm`);
  const keyAlgorithm = key.algorithm as {
    name: string;
    hash?: { name?: string };
    namedCurve?: string;
    modulusLength?: number;
  };
  if (keyAlgorithm.name !== algorithm.keyName) throw unusable(algorithm.keyName);
  if (algorithm.keyHash && keyAlgorithm.hash?.name !== algorithm.keyHash)
    throw unusable(algorithm.keyHash, 'algorithm.hash');
  if (algorithm.curve && keyAlgorithm.namedCurve !== algorithm.curve)
    throw unusable(algorithm.curve, 'algorithm.namedCurve');
  if (!key.usages.includes('verify'))
    throw new TypeError('CryptoKey does not support this operation, its usages must include verify.');
  if (algorithm.keyHash) {
    const { modulusLength } = keyAlgorithm;
    if (typeof modulusLength !== 'number' || modulusLength < 2048)
      throw new TypeError(`${alg} requires key modulusLength to be 2048 bits or larger`);
  }
}

function unusable(name: string, property = 'algorithm.name'): TypeError {
  return new TypeError(`CryptoKey does not support this operation, its ${property} must be ${name}`);
}

function signatureMatches(
  algorithm: Algorithm,
  input: string,
  key: CryptoKey,
  signature: Uint8Array,
): boolean {
  // RFC 7518 §3.4: R || S of exactly twice the curve's size; anything else is false, as in WebCrypto.
  if (algorithm.signatureBytes !== undefined && signature.length !== algorithm.signatureBytes) return false;
  const nodeKey: VerifyKeyObjectInput = { key: nodeKeyOf(key) };
  if (algorithm.signatureBytes !== undefined) nodeKey.dsaEncoding = 'ieee-p1363';
  if (algorithm.saltLength !== undefined) {
    nodeKey.padding = constants.RSA_PKCS1_PSS_PADDING;
    nodeKey.saltLength = algorithm.saltLength;
  }
  try {
    return verifySignature(algorithm.digest, Buffer.from(input), nodeKey, signature);
  } catch (cause) {
    throw new joseErrors.JWSSignatureVerificationFailed(undefined, { cause });
  }
}

/**
 * verifyJwt's last step on its own: jose's claim validation with the same options, for a token
 * whose bytes are vouched for otherwise (this service's own tokens whose lineage record holds their
 * digest, ADR 0028). Through UnsecuredJWT.decode: its header carries only `typ`, the one header
 * parameter validateClaimsSet reads. A payload that is not base64url is JWSInvalid after
 * verification in jwtVerify, and JWTInvalid in UnsecuredJWT.decode: jwtVerify's is thrown.
 */
export function validateJwtClaims(
  header: ProtectedHeaderParameters,
  payload: string,
  options: JWTVerifyOptions,
): JWTPayload {
  const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: header.typ })).toString('base64url');
  try {
    return UnsecuredJWT.decode(`${noneHeader}.${payload}.`, options).payload;
  } catch (error) {
    if (error instanceof joseErrors.JWTInvalid && error.message === 'Failed to base64url decode the payload')
      throw new joseErrors.JWSInvalid(error.message, { cause: error.cause });
    throw error;
  }
}
