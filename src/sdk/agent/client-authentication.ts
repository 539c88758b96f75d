/**
 * How the agent authenticates at the token endpoint (RFC 6749 §2.3): a client secret in HTTP Basic
 * (`client_secret_basic`, both halves form-urlencoded first, §2.3.1) or in the form
 * (`client_secret_post`), a signed RFC 10070 assertion (`private_key_jwt`), or a workload
 * credential the platform issues — a SPIFFE JWT-SVID (`jwt_spiffe`) or a Kubernetes
 * service-account token (`kubernetes_service_account`), read afresh for every request.
 */
import type { CryptoKey, KeyObject } from 'jose';
import { CLIENT_ASSERTION_TYPE, createClientAssertion } from './client-assertion.js';
import {
  readWorkloadCredential,
  workloadAssertionType,
  type WorkloadCredentialSource,
  type WorkloadMethod,
} from './workload-credential.js';

export type ClientAuthentication =
  | { readonly method: 'client_secret_basic' | 'client_secret_post'; readonly clientSecret: string }
  | {
      readonly method: 'private_key_jwt';
      readonly privateKey: CryptoKey | KeyObject;
      readonly kid?: string;
      /** Default ES256. */
      readonly alg?: string;
    }
  | {
      readonly method: WorkloadMethod;
      /** `{ file }` the platform keeps current, or a function that returns a fresh token. */
      readonly credential: WorkloadCredentialSource;
    };

export interface AuthenticationParts {
  readonly headers: Record<string, string>;
  readonly fields: Record<string, string>;
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

export async function clientAuthenticationParts(
  clientId: string,
  issuer: string,
  authentication: ClientAuthentication,
): Promise<AuthenticationParts> {
  switch (authentication.method) {
    case 'client_secret_basic': {
      const pair = `${formEncode(clientId)}:${formEncode(authentication.clientSecret)}`;
      return { headers: { authorization: `Basic ${Buffer.from(pair).toString('base64')}` }, fields: {} };
    }
    case 'client_secret_post':
      return { headers: {}, fields: { client_id: clientId, client_secret: authentication.clientSecret } };
    case 'private_key_jwt': {
      const assertion = await createClientAssertion({
        clientId,
        issuer,
        privateKey: authentication.privateKey,
        alg: authentication.alg,
        kid: authentication.kid,
      });
      return {
        headers: {},
        fields: {
          client_id: clientId,
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: assertion,
        },
      };
    }
    case 'jwt_spiffe':
    case 'kubernetes_service_account':
      return {
        headers: {},
        fields: {
          client_id: clientId,
          client_assertion_type: workloadAssertionType(authentication.method),
          client_assertion: await readWorkloadCredential(authentication.credential),
        },
      };
  }
}
