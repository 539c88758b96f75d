/**
 * /admin/set-receivers (ADR 0026): who is told of revocations by Security Event Tokens. A receiver
 * names its SET `audience`, the token `audiences` it cares about (registered resources or agents:
 * it hears of revoked tokens addressed to one of them), and how it receives:
 *
 * - `push` (RFC 8935): SETs are POSTed to `endpointUrl`, checked like a JWKS URI (https; never a
 *   loopback, link-local or metadata address, SECURITY-CASES AD-06), optionally with an
 *   `authorization` header value the receiver requires, stored sealed under KEY_ENCRYPTION_KEY and
 *   never shown again;
 * - `poll` (RFC 8936): the answer holds `pollSecret` once, the bearer secret for the poll
 *   endpoint, stored as a digest only.
 *
 * Creating and deleting a receiver are admin events; its deliveries are audit events.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { RESOURCE_ID_PATTERN } from '../../domain/identifiers.js';
import { generateClientSecret } from '../../infra/client-secrets.js';
import { seal } from '../../infra/secret-box.js';
import {
  newReceiverId,
  unknownAudiences,
  type SecurityEvent,
  type SetReceiver,
} from '../../infra/security-events.js';
import { receiverAuthorizationAad } from '../../protocol/set-delivery.js';
import { ProblemError } from '../problem.js';
import { changedBy, found, listPage, notFound, type AdminRouteOptions } from './common.js';
import { IdParams, ListQuery, Page } from './schemas.js';
import { checkFetchableUrl, checkNoWildcards } from './validation.js';

const closed = { additionalProperties: false } as const;
const AUDIENCE = Type.String({ minLength: 1, maxLength: 500, pattern: '^[\\x21-\\x7E]+$' });

export const SetReceiverCreateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: RESOURCE_ID_PATTERN })),
    audience: Type.String({
      minLength: 1,
      maxLength: 500,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'the SET aud: how the receiver names itself',
    }),
    delivery: Type.Union([Type.Literal('push'), Type.Literal('poll')]),
    endpointUrl: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2000, description: 'push only: where SETs are POSTed' }),
    ),
    authorization: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        pattern: '^[\\x20-\\x7E]+$',
        description: 'push only: the Authorization header value sent with each SET (write-only)',
      }),
    ),
    audiences: Type.Array(AUDIENCE, {
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
      description: 'registered resources or agents: the receiver hears of revoked tokens addressed to them',
    }),
  },
  closed,
);
export type SetReceiverCreateBody = Static<typeof SetReceiverCreateBody>;

export const SetReceiverView = Type.Object({
  id: Type.String(),
  audience: Type.String(),
  delivery: Type.String(),
  endpointUrl: Type.Union([Type.String(), Type.Null()]),
  hasAuthorization: Type.Boolean(),
  audiences: Type.Array(Type.String()),
  createdAt: Type.String(),
});
export type SetReceiverView = Static<typeof SetReceiverView>;

const SetReceiverCreatedView = Type.Composite([
  SetReceiverView,
  Type.Object({
    pollSecret: Type.Optional(
      Type.String({ description: 'poll only: the bearer secret for the poll endpoint, shown this once' }),
    ),
  }),
]);

export const SecurityEventView = Type.Object({
  jti: Type.String({ description: 'the SET jti' }),
  status: Type.String({ description: 'pending, delivered or failed' }),
  attempts: Type.Integer(),
  jtis: Type.Array(Type.String()),
  txns: Type.Array(Type.String()),
  reason: Type.String(),
  revokedAt: Type.String(),
  createdAt: Type.String(),
  nextAttemptAt: Type.String(),
  deliveredAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
});
const EventsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, closed);

function receiverView(row: SetReceiver): SetReceiverView {
  return {
    id: row.id,
    audience: row.audience,
    delivery: row.delivery,
    endpointUrl: row.endpointUrl,
    hasAuthorization: row.authorizationSealed !== null,
    audiences: row.audiences,
    createdAt: row.createdAt.toISOString(),
  };
}

function eventView(row: SecurityEvent): Static<typeof SecurityEventView> {
  return {
    jti: row.jti,
    status: row.status,
    attempts: row.attempts,
    jtis: row.jtis,
    txns: row.txns,
    reason: row.reason,
    revokedAt: row.revokedAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    nextAttemptAt: row.nextAttemptAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    lastError: row.lastError,
  };
}

function invalid(path: string, detail: string): ProblemError {
  return new ProblemError(400, 'invalid_value', detail, [{ path, message: detail }]);
}

export async function setReceiverRoutes(app: FastifyInstance, { context }: AdminRouteOptions) {
  const { securityEvents, database, config } = app.sts;

  app.post<{ Body: SetReceiverCreateBody }>(
    '/set-receivers',
    {
      schema: {
        summary: 'Register a receiver of revocation Security Event Tokens',
        description:
          'delivery "push" (RFC 8935: SETs POSTed to endpointUrl, optionally with an authorization header value) or "poll" (RFC 8936: the answer holds pollSecret once, the bearer secret for the poll endpoint named security_event_poll_endpoint in the discovery metadata). The receiver hears of every revoked token addressed to one of its audiences.',
        body: SetReceiverCreateBody,
        response: { 201: SetReceiverCreatedView },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const id = body.id ?? newReceiverId();
      checkNoWildcards(body.audiences, '/audiences');
      if (body.delivery === 'push') {
        if (body.endpointUrl === undefined)
          throw invalid('/endpointUrl', 'a push receiver needs endpointUrl');
        checkFetchableUrl(body.endpointUrl, context, '/endpointUrl');
      } else {
        if (body.endpointUrl !== undefined)
          throw invalid('/endpointUrl', 'a poll receiver has no endpointUrl');
        if (body.authorization !== undefined) {
          throw invalid('/authorization', 'a poll receiver authenticates with its poll secret');
        }
      }
      const unknown = await unknownAudiences(database.prisma, body.audiences);
      if (unknown.length > 0) {
        const index = body.audiences.indexOf(unknown[0]!);
        throw invalid(`/audiences/${index}`, `"${unknown[0]}" is neither a registered resource nor an agent`);
      }
      if ((await securityEvents.getReceiver(id)) !== null) {
        throw new ProblemError(409, 'conflict', `a receiver "${id}" already exists`);
      }
      const pollSecret = body.delivery === 'poll' ? generateClientSecret() : null;
      const row = await securityEvents.createReceiver(
        {
          id,
          audience: body.audience,
          delivery: body.delivery,
          endpointUrl: body.endpointUrl ?? null,
          authorizationSealed:
            body.authorization === undefined
              ? null
              : seal(config.keyEncryptionKey, body.authorization, receiverAuthorizationAad(id)),
          pollSecret,
          audiences: body.audiences,
        },
        changedBy(request),
      );
      request.log.info({ receiver: row.id, delivery: row.delivery }, 'admin registered a SET receiver');
      return reply.code(201).send({ ...receiverView(row), ...(pollSecret ? { pollSecret } : {}) });
    },
  );

  app.get<{ Querystring: ListQuery }>(
    '/set-receivers',
    {
      schema: {
        summary: 'List receivers of revocation Security Event Tokens',
        querystring: ListQuery,
        response: { 200: Page(SetReceiverView) },
      },
    },
    async (request) => listPage(request.query, (page) => securityEvents.listReceivers(page), receiverView),
  );

  app.get<{ Params: IdParams }>(
    '/set-receivers/:id',
    { schema: { summary: 'Read a SET receiver', params: IdParams, response: { 200: SetReceiverView } } },
    async (request) =>
      receiverView(
        found(await securityEvents.getReceiver(request.params.id), 'SET receiver', request.params.id),
      ),
  );

  app.get<{ Params: IdParams; Querystring: Static<typeof EventsQuery> }>(
    '/set-receivers/:id/events',
    {
      schema: {
        summary: "A receiver's revocation SETs and their delivery state, newest first",
        params: IdParams,
        querystring: EventsQuery,
        response: { 200: Type.Object({ items: Type.Array(SecurityEventView) }) },
      },
    },
    async (request) => {
      found(await securityEvents.getReceiver(request.params.id), 'SET receiver', request.params.id);
      const rows = await securityEvents.eventsOf(request.params.id, request.query.limit ?? 50);
      return { items: rows.map(eventView) };
    },
  );

  app.delete<{ Params: IdParams }>(
    '/set-receivers/:id',
    { schema: { summary: 'Delete a SET receiver and its undelivered SETs', params: IdParams } },
    async (request, reply) => {
      if (!(await securityEvents.deleteReceiver(request.params.id, changedBy(request)))) {
        throw notFound('SET receiver', request.params.id);
      }
      request.log.info({ receiver: request.params.id }, 'admin deleted a SET receiver');
      return reply.code(204).send();
    },
  );
}
