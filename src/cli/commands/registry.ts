/**
 * `agents`, `resources`, `trusted-issuers`, `spiffe-trust-domains` and `kubernetes-clusters`: the registry collections of the admin API, each
 * with the actions its API offers (CONTRACT §4). Agents can also be disabled, enabled and get a
 * new secret; resources and trusted issuers cannot, because the API has no such actions for them.
 * Bodies come from flags, from `--from-file` (a JSON body, `-` for stdin), or both (flags win).
 */
import { Command, Option } from 'commander';
import { apiPath } from '../client.js';
import { action, type Context, type Io, type Options } from '../context.js';
import { UsageError } from '../errors.js';
import { parseIntOrNone, parseList, parsePositiveInt, readJsonObject, readJwks } from '../input.js';
import { fields, list, table, time } from '../render.js';
import type { Page, Row } from '../types.js';

type FieldKind = 'string' | 'list' | 'int' | 'intOrNone' | 'bool' | 'jwksFile' | 'serviceAccount';

interface FieldSpec {
  /** commander flags, e.g. `--scopes <list>`. */
  readonly flags: string;
  /** The body member it sets. */
  readonly key: string;
  readonly kind: FieldKind;
  readonly description: string;
  readonly choices?: readonly string[];
  /** Only when creating (the id). */
  readonly createOnly?: boolean;
}

interface Collection {
  readonly command: string;
  readonly path: string;
  /** Singular, for messages. */
  readonly noun: string;
  /** `a` or `an`, before the noun. */
  readonly article: string;
  readonly fields: readonly FieldSpec[];
  readonly columns: readonly string[];
  readonly row: (item: Row) => string[];
  readonly details: (item: Row) => [string, string][];
  readonly agentActions: boolean;
}

const str = (value: unknown): string =>
  value === null || value === undefined || value === '' ? '-' : String(value);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

/** A JWK Set shown by its kids; the keys themselves are in `--json`. */
function keysOf(item: Row): string {
  if (item.jwksUri) return `jwks_uri ${String(item.jwksUri)}`;
  const keys = (item.jwks as { keys?: { kid?: string }[] } | null)?.keys;
  if (!keys) return '-';
  return `${keys.length} inline (${keys.map((key) => key.kid ?? '?').join(', ')})`;
}

/** The workload identity of a jwt_spiffe or kubernetes_service_account agent (ADR 0023). */
function workloadIdentityOf(item: Row): [string, string][] {
  if (typeof item.spiffeId === 'string') return [['spiffe id', item.spiffeId]];
  const account = item.kubernetesServiceAccount as {
    issuer?: string;
    namespace?: string;
    name?: string;
  } | null;
  if (account)
    return [['service account', `${str(account.namespace)}/${str(account.name)}@${str(account.issuer)}`]];
  return [];
}

/** `--service-account agents/indexer@https://oidc.example` → the API's object. */
function parseServiceAccount(value: string): Record<string, string> {
  const at = value.indexOf('@');
  const [namespace, name, ...rest] = value.slice(0, Math.max(at, 0)).split('/');
  if (at <= 0 || !namespace || !name || rest.length > 0) {
    throw new UsageError('--service-account takes <namespace>/<name>@<cluster issuer>');
  }
  return { issuer: value.slice(at + 1), namespace, name };
}

const AGENTS: Collection = {
  command: 'agents',
  path: '/admin/agents',
  noun: 'agent',
  article: 'an',
  agentActions: true,
  fields: [
    {
      flags: '--id <client_id>',
      key: 'id',
      kind: 'string',
      description: 'client_id (generated when absent)',
      createOnly: true,
    },
    { flags: '--name <name>', key: 'name', kind: 'string', description: 'display name (required to create)' },
    { flags: '--description <text>', key: 'description', kind: 'string', description: 'free text' },
    { flags: '--owner <owner>', key: 'owner', kind: 'string', description: 'who is responsible for it' },
    {
      flags: '--auth-method <method>',
      key: 'tokenEndpointAuthMethod',
      kind: 'string',
      description: 'token endpoint authentication (default client_secret_basic)',
      choices: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
        'jwt_spiffe',
        'kubernetes_service_account',
      ],
    },
    {
      flags: '--spiffe-id <id>',
      key: 'spiffeId',
      kind: 'string',
      description: 'for jwt_spiffe: the SPIFFE ID its JWT-SVID names',
    },
    {
      flags: '--service-account <ns/name@issuer>',
      key: 'kubernetesServiceAccount',
      kind: 'serviceAccount',
      description: 'for kubernetes_service_account: namespace/name@cluster issuer',
    },
    {
      flags: '--jwks-file <path>',
      key: 'jwks',
      kind: 'jwksFile',
      description: 'public JWK Set (or one JWK) for private_key_jwt',
    },
    {
      flags: '--jwks-uri <url>',
      key: 'jwksUri',
      kind: 'string',
      description: 'JWKS URL for private_key_jwt',
    },
    {
      flags: '--scopes <list>',
      key: 'allowedScopes',
      kind: 'list',
      description: 'allowed scopes, comma-separated',
    },
    {
      flags: '--audiences <list>',
      key: 'allowedAudiences',
      kind: 'list',
      description: 'allowed audiences, comma-separated',
    },
    {
      flags: '--grant-types <list>',
      key: 'grantTypes',
      kind: 'list',
      description: 'grant types (default both)',
    },
    {
      flags: '--max-depth <n>',
      key: 'maxDelegationDepth',
      kind: 'int',
      description: 'maximum delegation depth (default 4)',
    },
    {
      flags: '--ttl <seconds>',
      key: 'tokenTtlSeconds',
      kind: 'int',
      description: 'token lifetime (default 300, at most 3600)',
    },
    {
      flags: '--may-impersonate',
      key: 'mayImpersonate',
      kind: 'bool',
      description: 'may ask for tokens without act',
    },
    {
      flags: '--dpop',
      key: 'dpopBoundAccessTokens',
      kind: 'bool',
      description: 'every token request needs a DPoP proof',
    },
  ],
  columns: ['ID', 'NAME', 'STATUS', 'AUTH', 'SCOPES', 'AUDIENCES'],
  row: (item) => [
    str(item.id),
    str(item.name),
    str(item.status),
    str(item.tokenEndpointAuthMethod),
    list(strings(item.allowedScopes)),
    list(strings(item.allowedAudiences)),
  ],
  details: (item) => [
    ['id', str(item.id)],
    ['name', str(item.name)],
    ['status', str(item.status)],
    ['description', str(item.description)],
    ['owner', str(item.owner)],
    ['auth method', str(item.tokenEndpointAuthMethod)],
    ['keys', keysOf(item)],
    ...workloadIdentityOf(item),
    ['scopes', list(strings(item.allowedScopes))],
    ['audiences', list(strings(item.allowedAudiences))],
    ['grant types', list(strings(item.grantTypes))],
    ['max depth', str(item.maxDelegationDepth)],
    ['token ttl', `${str(item.tokenTtlSeconds)}s`],
    ['impersonation', item.mayImpersonate ? 'allowed' : 'no'],
    ['dpop required', item.dpopBoundAccessTokens ? 'yes' : 'no'],
    ['created', time(item.createdAt as string)],
    ['updated', time(item.updatedAt as string)],
    ...(item.deletedAt ? ([['deleted', time(item.deletedAt as string)]] as [string, string][]) : []),
  ],
};

const RESOURCES: Collection = {
  command: 'resources',
  path: '/admin/resources',
  noun: 'resource',
  article: 'a',
  agentActions: false,
  fields: [
    {
      flags: '--id <aud>',
      key: 'id',
      kind: 'string',
      description: 'the aud value, usually a URI (required to create)',
      createOnly: true,
    },
    { flags: '--name <name>', key: 'name', kind: 'string', description: 'display name' },
    {
      flags: '--scopes <list>',
      key: 'scopes',
      kind: 'list',
      description: 'scopes it accepts, comma-separated',
    },
  ],
  columns: ['ID', 'NAME', 'SCOPES'],
  row: (item) => [str(item.id), str(item.name), list(strings(item.scopes))],
  details: (item) => [
    ['id', str(item.id)],
    ['name', str(item.name)],
    ['scopes', list(strings(item.scopes))],
    ['created', time(item.createdAt as string)],
    ['updated', time(item.updatedAt as string)],
  ],
};

const TRUSTED_ISSUERS: Collection = {
  command: 'trusted-issuers',
  path: '/admin/trusted-issuers',
  noun: 'trusted issuer',
  article: 'a',
  agentActions: false,
  fields: [
    {
      flags: '--id <id>',
      key: 'id',
      kind: 'string',
      description: 'id (generated when absent)',
      createOnly: true,
    },
    {
      flags: '--issuer <url>',
      key: 'issuer',
      kind: 'string',
      description: 'the iss of its tokens (required to create)',
    },
    {
      flags: '--jwks-file <path>',
      key: 'jwks',
      kind: 'jwksFile',
      description: 'its public JWK Set (or one JWK)',
    },
    { flags: '--jwks-uri <url>', key: 'jwksUri', kind: 'string', description: 'its JWKS URL (https)' },
    {
      flags: '--audiences <list>',
      key: 'audiences',
      kind: 'list',
      description: 'aud values by which it addresses agent-sts (required to create)',
    },
    {
      flags: '--scope-claim <claim>',
      key: 'scopeClaim',
      kind: 'string',
      description: 'scope claim',
      choices: ['scope', 'scp'],
    },
    {
      flags: '--max-depth <n>',
      key: 'maxDelegationDepth',
      kind: 'intOrNone',
      description: 'maximum depth of chains it starts (`none` lifts it on update)',
    },
  ],
  columns: ['ID', 'ISSUER', 'AUDIENCES', 'KEYS', 'SCOPE CLAIM', 'MAX DEPTH'],
  row: (item) => [
    str(item.id),
    str(item.issuer),
    list(strings(item.audiences)),
    keysOf(item),
    str(item.scopeClaim),
    str(item.maxDelegationDepth),
  ],
  details: (item) => [
    ['id', str(item.id)],
    ['issuer', str(item.issuer)],
    ['keys', keysOf(item)],
    ['audiences', list(strings(item.audiences))],
    ['scope claim', str(item.scopeClaim)],
    ['max depth', item.maxDelegationDepth === null ? 'no limit of its own' : str(item.maxDelegationDepth)],
    ['created', time(item.createdAt as string)],
    ['updated', time(item.updatedAt as string)],
  ],
};

/** ADR 0023: the trust domains whose JWT-SVIDs authenticate jwt_spiffe agents. */
const SPIFFE_TRUST_DOMAINS: Collection = {
  command: 'spiffe-trust-domains',
  path: '/admin/spiffe-trust-domains',
  noun: 'SPIFFE trust domain',
  article: 'a',
  agentActions: false,
  fields: [
    {
      flags: '--id <id>',
      key: 'id',
      kind: 'string',
      description: 'id (generated when absent)',
      createOnly: true,
    },
    {
      flags: '--trust-domain <name>',
      key: 'trustDomain',
      kind: 'string',
      description: 'the trust domain name (required to create)',
      createOnly: true,
    },
    {
      flags: '--bundle-file <path>',
      key: 'bundle',
      kind: 'jwksFile',
      description: 'its SPIFFE bundle (JSON)',
    },
    {
      flags: '--bundle-endpoint <url>',
      key: 'bundleEndpointUrl',
      kind: 'string',
      description: 'its SPIFFE bundle endpoint (https)',
    },
  ],
  columns: ['ID', 'TRUST DOMAIN', 'KEYS'],
  row: (item) => [str(item.id), str(item.trustDomain), bundleOf(item)],
  details: (item) => [
    ['id', str(item.id)],
    ['trust domain', str(item.trustDomain)],
    ['keys', bundleOf(item)],
    ['created', time(item.createdAt as string)],
    ['updated', time(item.updatedAt as string)],
  ],
};

function bundleOf(item: Row): string {
  if (item.bundleEndpointUrl) return `bundle endpoint ${String(item.bundleEndpointUrl)}`;
  return keysOf({ ...item, jwks: item.bundle, jwksUri: null });
}

/** ADR 0023: the clusters whose service-account tokens authenticate kubernetes_service_account agents. */
const KUBERNETES_CLUSTERS: Collection = {
  command: 'kubernetes-clusters',
  path: '/admin/kubernetes-clusters',
  noun: 'Kubernetes cluster',
  article: 'a',
  agentActions: false,
  fields: [
    {
      flags: '--id <id>',
      key: 'id',
      kind: 'string',
      description: 'id (generated when absent)',
      createOnly: true,
    },
    {
      flags: '--issuer <url>',
      key: 'issuer',
      kind: 'string',
      description: 'its service-account issuer (required to create)',
      createOnly: true,
    },
    { flags: '--jwks-file <path>', key: 'jwks', kind: 'jwksFile', description: 'its public JWK Set' },
    { flags: '--jwks-uri <url>', key: 'jwksUri', kind: 'string', description: 'its JWKS URL (https)' },
  ],
  columns: ['ID', 'ISSUER', 'KEYS'],
  row: (item) => [str(item.id), str(item.issuer), keysOf(item)],
  details: (item) => [
    ['id', str(item.id)],
    ['issuer', str(item.issuer)],
    ['keys', keysOf(item)],
    ['created', time(item.createdAt as string)],
    ['updated', time(item.updatedAt as string)],
  ],
};

function addFieldOptions(command: Command, specs: readonly FieldSpec[], creating: boolean): Command {
  for (const spec of specs) {
    if (spec.createOnly && !creating) continue;
    const option = new Option(spec.flags, spec.description);
    if (spec.choices) option.choices(spec.choices);
    if (spec.kind === 'list') option.argParser(parseList);
    if (spec.kind === 'int') option.argParser(parsePositiveInt);
    if (spec.kind === 'intOrNone') option.argParser(creating ? parsePositiveInt : parseIntOrNone);
    command.addOption(option);
    // `--no-dpop` next to `--dpop`: unset unless one of them is given.
    if (spec.kind === 'bool')
      command.addOption(new Option(spec.flags.replace(/^--/, '--no-'), `opposite of ${spec.flags}`));
  }
  return command.option(
    '--from-file <path>',
    'JSON body to start from (`-` for stdin); flags override its members',
  );
}

/** commander's attribute name of a flag: `--auth-method <m>` → `authMethod`. */
function attribute(flags: string): string {
  return new Option(flags).attributeName();
}

async function bodyOf(
  specs: readonly FieldSpec[],
  options: Options,
  io: Io,
  creating: boolean,
): Promise<Record<string, unknown>> {
  const body = options.fromFile !== undefined ? await readJsonObject(String(options.fromFile), io) : {};
  for (const spec of specs) {
    if (spec.createOnly && !creating) continue;
    const value = options[attribute(spec.flags)];
    if (value === undefined) continue;
    if (spec.kind === 'jwksFile') body[spec.key] = await readJwks(String(value), io);
    else if (spec.kind === 'serviceAccount') body[spec.key] = parseServiceAccount(String(value));
    else body[spec.key] = spec.kind === 'intOrNone' && value === 'none' ? null : value;
  }
  return body;
}

function printSecret(context: Context, item: Row): void {
  if (typeof item.clientSecret !== 'string') return;
  context.print(
    `\nclient secret (shown this once; store it now, it cannot be read again):\n  ${item.clientSecret}`,
  );
}

function listCommand(collection: Collection, io: Io): Command {
  const command = new Command('list')
    .description(`list ${collection.command} (one page; --all for every page)`)
    .option('--limit <n>', 'page size (1-200, default 50)', parsePositiveInt)
    .option('--cursor <cursor>', 'the nextCursor of the previous page')
    .option('--all', 'follow nextCursor to the last page');
  if (collection.agentActions) command.option('--include-deleted', 'include deleted agents (tombstones)');
  return command.action(
    action(io, async (context, _args, options) => {
      const query = {
        limit: options.limit as number | undefined,
        cursor: options.cursor as string | undefined,
        ...(options.includeDeleted ? { includeDeleted: true } : {}),
      };
      let page = await context.client.get<Page<Row>>(collection.path, query);
      const items = [...page.items];
      while (options.all && page.nextCursor) {
        page = await context.client.get<Page<Row>>(collection.path, { ...query, cursor: page.nextCursor });
        items.push(...page.items);
      }
      if (context.json) {
        context.printJson(options.all ? { items, nextCursor: null } : page);
        return;
      }
      if (items.length === 0) {
        context.print(`no ${collection.command}`);
        return;
      }
      context.print(table(collection.columns, items.map(collection.row)));
      if (page.nextCursor) context.print(`\nmore: --cursor ${page.nextCursor} (or --all)`);
    }),
  );
}

function commandsOf(collection: Collection, io: Io): Command {
  const group = new Command(collection.command).description(
    `${collection.noun}s: ${collection.agentActions ? 'list, show, create, update, disable, enable, rotate-secret, delete' : 'list, show, create, update, delete (the API has no disable, enable or secret for them)'}`,
  );
  const item = (id: string) => apiPath(collection.path, id);
  const show = async (context: Context, row: Row, verb?: string) => {
    if (context.json) return context.printJson(row);
    if (verb) context.print(`${verb} ${collection.noun} ${str(row.id)}\n`);
    context.print(fields(collection.details(row)));
    printSecret(context, row);
  };

  group.addCommand(listCommand(collection, io));

  group.addCommand(
    new Command('show')
      .description(`show one ${collection.noun}`)
      .argument('<id>')
      .action(action(io, async (context, [id]) => show(context, await context.client.get<Row>(item(id!))))),
  );

  group.addCommand(
    addFieldOptions(
      new Command('create').description(`register ${collection.article} ${collection.noun}`),
      collection.fields,
      true,
    ).action(
      action(io, async (context, _args, options) => {
        const body = await bodyOf(collection.fields, options, context.io, true);
        await show(context, await context.client.post<Row>(collection.path, body), 'created');
      }),
    ),
  );

  group.addCommand(
    addFieldOptions(
      new Command('update')
        .description(`change ${collection.article} ${collection.noun}: only the fields given`)
        .argument('<id>'),
      collection.fields,
      false,
    ).action(
      action(io, async (context, [id], options) => {
        const body = await bodyOf(collection.fields, options, context.io, false);
        if (Object.keys(body).length === 0)
          throw new UsageError('nothing to change: give at least one field');
        await show(context, await context.client.patch<Row>(item(id!), body), 'updated');
      }),
    ),
  );

  if (collection.agentActions) {
    for (const [name, verb, description] of [
      [
        'disable',
        'disabled',
        'disable an agent: it can neither authenticate nor appear in an exchanged chain',
      ],
      ['enable', 'enabled', 'enable a disabled agent'],
    ] as const) {
      group.addCommand(
        new Command(name)
          .description(description)
          .argument('<id>')
          .action(
            action(io, async (context, [id]) =>
              show(context, await context.client.post<Row>(item(id!) + `/${name}`), verb),
            ),
          ),
      );
    }
    group.addCommand(
      new Command('rotate-secret')
        .description('issue a new client secret (shown once); the old one stops working at once')
        .argument('<id>')
        .action(
          action(io, async (context, [id]) => {
            const row = await context.client.post<Row>(item(id!) + '/secret');
            if (context.json) return context.printJson(row);
            context.print(`rotated the secret of agent ${str(row.id)}`);
            printSecret(context, row);
          }),
        ),
    );
  }

  group.addCommand(
    new Command('delete')
      .description(
        collection.agentActions
          ? 'delete an agent: its tokens stop working and its id stays reserved'
          : `delete ${collection.article} ${collection.noun}`,
      )
      .argument('<id>')
      .action(
        action(io, async (context, [id]) => {
          await context.client.delete(item(id!));
          // 204 No Content: there is no JSON to print, whatever the output mode.
          if (!context.json) context.print(`deleted ${collection.noun} ${id!}`);
        }),
      ),
  );
  return group;
}

export function registryCommands(io: Io): Command[] {
  return [AGENTS, RESOURCES, TRUSTED_ISSUERS, SPIFFE_TRUST_DOMAINS, KUBERNETES_CLUSTERS].map((collection) =>
    commandsOf(collection, io),
  );
}
