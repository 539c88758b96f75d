/**
 * Shared by the durability tests: concurrent token traffic as real agents send it (an agent's own
 * token, then a hop that exchanges it), a record of every token a client actually received, and
 * the check that each of them has its lineage row and its audit row in the database, with
 * nothing half-written anywhere.
 */
import type { JWTPayload } from 'jose';
import { registerAgent, registerResource, uniqueSuffix } from '../../helpers/fixtures.js';
import {
  decodeJwt,
  exchangeRequest,
  GRANT_TOKEN_EXCHANGE,
  requestToken,
  type TestAgent,
  type TokenResponse,
} from '../../helpers/oauth.js';
import type { ServiceAddress } from '../../helpers/server.js';
import type { SqlSession } from '../../../src/infra/database.js';

/** Rate limits far above what the load sends: these tests are about durability, not limits. */
export const UNLIMITED = { TOKEN_RATE_LIMIT: '10000000', TOKEN_RATE_LIMIT_PER_ADDRESS: '10000000' };

const OWN_SCOPE = 'read write';
const HOP_SCOPE = 'read';

/** agent A gets its own token for agent B; B exchanges it for the resource. */
export interface World {
  readonly a: TestAgent;
  readonly b: TestAgent;
  readonly resource: string;
}

export async function createWorld(server: ServiceAddress): Promise<World> {
  const suffix = uniqueSuffix();
  const resource = `https://api.example/durability-${suffix}`;
  await registerResource(server, { id: resource, scopes: ['read', 'write'] });
  const b = await registerAgent(server, {
    id: `durable-b-${suffix}`,
    allowedScopes: ['read', 'write'],
    allowedAudiences: [resource],
  });
  const a = await registerAgent(server, {
    id: `durable-a-${suffix}`,
    allowedScopes: ['read', 'write'],
    allowedAudiences: [b.id],
  });
  return { a, b, resource };
}

/** A token a client received: a 200 with an `access_token`, and what it asked for. */
export interface ReceivedToken {
  readonly token: string;
  readonly claims: JWTPayload;
  readonly grantType: string;
  /** The jti of the subject token it was exchanged from; null for an agent's own token. */
  readonly parentJti: string | null;
}

export function ownToken(server: ServiceAddress, world: World): Promise<TokenResponse> {
  return requestToken(server, world.a, {
    grant_type: 'client_credentials',
    audience: world.b.id,
    scope: OWN_SCOPE,
  });
}

export function hopToken(server: ServiceAddress, world: World, subjectToken: string): Promise<TokenResponse> {
  return exchangeRequest(server, world.b, {
    subject_token: subjectToken,
    resource: world.resource,
    scope: HOP_SCOPE,
  });
}

/** The token of a 200 answer, as its client received it; null for anything else. */
export function received(
  response: TokenResponse,
  grantType: string,
  parentJti: string | null,
): ReceivedToken | null {
  const token = response.body.access_token;
  if (response.status !== 200 || typeof token !== 'string') return null;
  return { token, claims: decodeJwt(token), grantType, parentJti };
}

export interface Load {
  /** Every token a client received, in the order they arrived. */
  readonly received: ReceivedToken[];
  /** Every answer that was not a token. */
  readonly refusals: TokenResponse[];
  /** Requests that got no HTTP answer at all (connection refused or reset). */
  readonly networkErrors: unknown[];
  /** Requests sent and not yet answered, at this moment. */
  inFlight(): number;
  /** Resolves once at least `count` tokens were received; rejects after `timeoutMs`. */
  receivedAtLeast(count: number, timeoutMs: number): Promise<void>;
  /** Asks the workers to finish their current request and stop. */
  stop(): Promise<void>;
  /** Resolves when every worker has stopped. */
  readonly done: Promise<void>;
}

/**
 * `concurrency` agents in loops, each getting its own token and exchanging it. With
 * `endOnNetworkError` a worker stops at its first request without an answer (the server is gone);
 * otherwise it records it and goes on.
 */
export function startLoad(
  server: ServiceAddress,
  world: World,
  options: { concurrency: number; endOnNetworkError: boolean },
): Load {
  const load = {
    received: [] as ReceivedToken[],
    refusals: [] as TokenResponse[],
    networkErrors: [] as unknown[],
  };
  let stopped = false;
  let inFlight = 0;

  /** One request; null when it got no answer. */
  async function send(request: () => Promise<TokenResponse>): Promise<TokenResponse | null> {
    inFlight += 1;
    try {
      return await request();
    } catch (error) {
      load.networkErrors.push(error);
      return null;
    } finally {
      inFlight -= 1;
    }
  }

  function keep(response: TokenResponse, grantType: string, parentJti: string | null): ReceivedToken | null {
    const token = received(response, grantType, parentJti);
    if (token) load.received.push(token);
    else load.refusals.push(response);
    return token;
  }

  async function worker(): Promise<void> {
    while (!stopped) {
      const own = await send(() => ownToken(server, world));
      if (own === null) {
        if (options.endOnNetworkError) return;
        continue;
      }
      const subject = keep(own, 'client_credentials', null);
      if (!subject) {
        // A refused client waits a little before trying again, as a real one would.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const hop = await send(() => hopToken(server, world, subject.token));
      if (hop === null) {
        if (options.endOnNetworkError) return;
        continue;
      }
      keep(hop, GRANT_TOKEN_EXCHANGE, String(subject.claims.jti));
    }
  }

  const done = Promise.all(Array.from({ length: options.concurrency }, worker)).then(() => {});
  return {
    ...load,
    inFlight: () => inFlight,
    async receivedAtLeast(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (load.received.length < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `only ${load.received.length} of ${count} tokens received in ${timeoutMs} ms; ` +
              `last refusal: ${load.refusals.at(-1)?.text ?? 'none'}; network errors: ${load.networkErrors.length}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop() {
      stopped = true;
      await done;
    },
    done,
  };
}

/** What a lineage row or a granted audit row says about one token, in the same words. */
interface IssuanceRecord {
  jti: string | null;
  parentJti: string | null;
  txn: string | null;
  sub: string | null;
  aud: string | null;
  scope: string | null;
  clientId: string | null;
  grantType: string | null;
}

/** An issuance's audit row: decision and rule `granted` (revocations write `granted` rows too). */
const GRANTED = `decision = 'granted' AND rule = 'granted'`;

/**
 * Everything wrong with the durability of `tokens` and of the whole lineage, one line each; empty
 * when every received token has exactly one lineage row and one granted audit row that match its
 * claims, and every lineage row and granted audit row has its counterpart.
 */
export async function durabilityViolations(
  database: SqlSession,
  tokens: readonly ReceivedToken[],
): Promise<string[]> {
  const jtis = tokens.map((token) => String(token.claims.jti));
  const [lineage, audit] = await Promise.all([
    database.query<IssuanceRecord>(
      `SELECT jti, parent_jti AS "parentJti", txn, sub, aud, scope, client_id AS "clientId",
         grant_type AS "grantType"
       FROM issued_tokens WHERE jti = ANY($1::text[])`,
      [jtis],
    ),
    database.query<IssuanceRecord>(
      `SELECT jti, parent_jti AS "parentJti", txn, subject AS sub, audience AS aud, granted_scope AS scope,
         client_id AS "clientId", grant_type AS "grantType"
       FROM audit_events WHERE ${GRANTED} AND jti = ANY($1::text[])`,
      [jtis],
    ),
  ]);
  const violations = tokens.flatMap((token) => [
    ...recordViolations(token, 'lineage', lineage),
    ...recordViolations(token, 'granted audit', audit),
  ]);
  return [...violations, ...(await halfWritten(database))];
}

/** Exactly one record of the token, saying what the token says. */
function recordViolations(token: ReceivedToken, kind: string, records: readonly IssuanceRecord[]): string[] {
  const { claims } = token;
  const jti = String(claims.jti);
  const own = records.filter((record) => record.jti === jti);
  const expected: IssuanceRecord = {
    jti,
    parentJti: token.parentJti,
    txn: String(claims.txn),
    sub: String(claims.sub),
    aud: String(claims.aud),
    scope: String(claims.scope),
    clientId: String(claims.client_id),
    grantType: token.grantType,
  };
  return [
    ...(own.length === 1 ? [] : [`${jti}: ${own.length} ${kind} rows`]),
    ...own.flatMap((record) => differences(`${jti}: ${kind}`, expected, record)),
  ];
}

function differences(where: string, expected: IssuanceRecord, actual: IssuanceRecord): string[] {
  return (Object.keys(expected) as (keyof IssuanceRecord)[])
    .filter((name) => expected[name] !== actual[name])
    .map((name) => `${where} ${name} is ${String(actual[name])}, the token says ${String(expected[name])}`);
}

/** Lineage rows without their audit row, audit rows without their lineage row, and rows that disagree. */
async function halfWritten(database: SqlSession): Promise<string[]> {
  const rows = await database.query<{ problem: string; jti: string | null }>(
    `SELECT 'lineage row without a granted audit row' AS problem, t.jti FROM issued_tokens t
       WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE ${GRANTED} AND a.jti = t.jti)
     UNION ALL
     SELECT 'granted audit row without a lineage row', a.jti FROM audit_events a
       WHERE ${GRANTED} AND NOT EXISTS (SELECT 1 FROM issued_tokens t WHERE t.jti = a.jti)
     UNION ALL
     SELECT 'more than one granted audit row', jti FROM audit_events WHERE ${GRANTED}
       GROUP BY jti HAVING count(*) > 1
     UNION ALL
     SELECT 'audit row disagrees with its lineage row', t.jti FROM issued_tokens t
       JOIN audit_events a ON a.jti = t.jti AND a.decision = 'granted' AND a.rule = 'granted'
       WHERE a.parent_jti IS DISTINCT FROM t.parent_jti OR a.txn IS DISTINCT FROM t.txn
         OR a.subject IS DISTINCT FROM t.sub OR a.audience IS DISTINCT FROM t.aud
         OR a.granted_scope IS DISTINCT FROM t.scope OR a.client_id IS DISTINCT FROM t.client_id
         OR a.grant_type IS DISTINCT FROM t.grant_type`,
  );
  return rows.map((row) => `${row.jti ?? '(no jti)'}: ${row.problem}`);
}
