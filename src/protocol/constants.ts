/** Every URN and claim name on the wire, written once (STYLE.md). */

export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
/** Transaction Tokens draft, "Txn-Token Request": a Transaction Token (ADR 0024). */
export const TOKEN_TYPE_TXN_TOKEN = 'urn:ietf:params:oauth:token-type:txn_token';

/** Input token types accepted as subject or actor tokens (CONTRACT §3.2). */
export const ACCEPTED_INPUT_TOKEN_TYPES = [
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_ID_TOKEN,
] as const;
/** Token types this service can issue (`requested_token_type`, RFC 8693 §2.1). */
export const ISSUABLE_TOKEN_TYPES = [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT] as const;
/**
 * Token types of a Txn-Token request (ADR 0024): issued only while a trust domain is configured,
 * and a Txn-Token is accepted as a subject token only to be replaced by another one.
 */
export const TXN_TOKEN_TYPES = [TOKEN_TYPE_TXN_TOKEN] as const;

/** RFC 9068 §2.1 access token media type. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** Transaction Tokens draft, "JWT Header": the Txn-Token `typ`, never mistaken for `at+jwt`. */
export const TXN_TOKEN_TYP = 'txntoken+jwt';
/** Transaction Tokens draft, "Txn-Token Response": `token_type` (RFC 8693 §2.2.1 `N_A`). */
export const TOKEN_TYPE_NOT_APPLICABLE = 'N_A';

/** Algorithms accepted on input tokens: asymmetric only, never `none` or HMAC (RFC 8725 §3.1). */
export const ACCEPTED_INPUT_ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
] as const;

/** The one scope the issuer accepts as an audience: access to the admin API (CONTRACT §4). */
/** RFC 7523 §2.2: the client assertion type of a JWT (private_key_jwt, Kubernetes tokens). */
export const CLIENT_ASSERTION_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export const ADMIN_SCOPE = 'sts:admin';

export const CLAIM_ACT = 'act';
export const CLAIM_MAY_ACT = 'may_act';
export const CLAIM_TXN = 'txn';
export const CLAIM_CLIENT_ID = 'client_id';
export const CLAIM_SCOPE = 'scope';
/** Transaction Tokens draft, "JWT Body Claims": the workload that requested the Txn-Token. */
export const CLAIM_REQ_WL = 'req_wl';
/** Transaction Tokens draft, "Request Context": the environment of the request. */
export const CLAIM_RCTX = 'rctx';
/** Transaction Tokens draft, "Transaction Context": details immutable along the call chain. */
export const CLAIM_TCTX = 'tctx';
/** RFC 7800 §3.1 confirmation claim; this service writes only RFC 9449 §6 `jkt` in it. */
export const CLAIM_CNF = 'cnf';

/** RFC 6749 §7.1 access token types: `token_type` in token and introspection answers. */
export const ACCESS_TOKEN_TYPE_BEARER = 'Bearer';
/** RFC 9449 §5: a token bound to the key of the request's DPoP proof. */
export const ACCESS_TOKEN_TYPE_DPOP = 'DPoP';

/** Upper bound on an input token's size; anything larger is refused before parsing (ST-09). */
export const MAX_INPUT_TOKEN_LENGTH = 16 * 1024;
/** Upper bound on `act` nesting in an input token, far above any allowed depth (DC-06). */
export const MAX_ACT_NESTING = 64;
/**
 * Most JWKS key sets (trusted issuers', agents' remote JWKS) one cache keeps, least recently used
 * out first. Only registered issuers and agents get a set; an evicted one is rebuilt on next use.
 */
export const KEY_SET_CACHE_MAX_ENTRIES = 1_000;
