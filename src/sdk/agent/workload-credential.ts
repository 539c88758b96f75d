/**
 * A workload credential as the client assertion (agent-sts ADR 0023): the JWT-SVID a SPIFFE
 * workload holds (draft-ietf-oauth-spiffe-client-auth, assertion type `jwt-spiffe`), or the
 * projected service-account token of a Kubernetes pod (RFC 7523 `jwt-bearer`). The platform
 * rotates these, and agent-sts takes each one once: the credential is read afresh for every
 * request — from a file the platform keeps current (spiffe-helper, a projected volume), or from a
 * function that fetches a new one (the SPIFFE Workload API, the Kubernetes TokenRequest API).
 */
import { readFile } from 'node:fs/promises';
import { CLIENT_ASSERTION_TYPE } from './client-assertion.js';
import { AgentStsClientError } from './errors.js';

/** draft-ietf-oauth-spiffe-client-auth §3.1. */
export const JWT_SPIFFE_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe';

/** Where the current credential comes from: a file path, or a function returning the token. */
export type WorkloadCredentialSource = { readonly file: string } | (() => string | Promise<string>);

export type WorkloadMethod = 'jwt_spiffe' | 'kubernetes_service_account';

/** The assertion type each method is sent with. */
export function workloadAssertionType(method: WorkloadMethod): string {
  return method === 'jwt_spiffe' ? JWT_SPIFFE_ASSERTION_TYPE : CLIENT_ASSERTION_TYPE;
}

/** A compact JWS: three base64url parts. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The current credential, read now. */
export async function readWorkloadCredential(source: WorkloadCredentialSource): Promise<string> {
  let token: string;
  try {
    token = (typeof source === 'function' ? await source() : await readFile(source.file, 'utf8')).trim();
  } catch (cause) {
    throw new AgentStsClientError(
      'workload_credential_unavailable',
      'could not read the workload credential',
      {
        cause,
      },
    );
  }
  if (!COMPACT_JWS.test(token)) {
    throw new AgentStsClientError('workload_credential_unavailable', 'the workload credential is not a JWT');
  }
  return token;
}
