/**
 * The admin API's answers as the CLI reads them (CONTRACT §4; the OpenAPI document at
 * /docs/openapi.json). Written from the HTTP contract, not imported from the server.
 */

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export type Row = Readonly<Record<string, unknown>>;

export interface ChainNode {
  readonly jti: string;
  readonly parentJti: string | null;
  readonly actor: string;
  readonly sub: string;
  readonly aud: string;
  readonly scopes: readonly string[];
  readonly depth: number;
  readonly impersonation: boolean;
  readonly jkt: string | null;
  readonly issuedAt: string;
  readonly expiresAt: string;
  readonly revokedAt: string | null;
  readonly status: 'live' | 'expired' | 'revoked';
  readonly children: readonly ChainNode[];
}

export interface ChainTree {
  readonly txn: string;
  readonly tokenCount: number;
  readonly roots: readonly ChainNode[];
}

export interface AuditEvent {
  readonly id: string;
  readonly at: string;
  readonly decision: 'granted' | 'denied';
  readonly rule: string;
  readonly grantType: string | null;
  readonly clientId: string | null;
  readonly subject: string | null;
  readonly audience: string | null;
  readonly requestedScope: string | null;
  readonly grantedScope: string | null;
  readonly jti: string | null;
  readonly parentJti: string | null;
  readonly txn: string | null;
  readonly impersonation: boolean;
  readonly description: string | null;
}

export interface AdminEvent {
  readonly id: string;
  readonly at: string;
  readonly actorKind: 'admin_token' | 'access_token';
  readonly actor: string | null;
  readonly actorJti: string | null;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly changes: Readonly<Record<string, unknown>>;
  readonly requestId: string;
}

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly state: 'next' | 'active' | 'retired' | 'revoked';
  readonly published: boolean;
  readonly createdAt: string;
  readonly activatesAt: string | null;
  readonly activatedAt: string | null;
  readonly retiredAt: string | null;
  readonly revokedAt: string | null;
}
