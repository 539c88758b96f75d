/** `keys list|rotate|revoke`: the service's signing keys (CONTRACT §4, `/admin/keys`). */
import { Command } from 'commander';
import { apiPath } from '../client.js';
import { action, type Context, type Io } from '../context.js';
import { fields, table, time } from '../render.js';
import type { SigningKey } from '../types.js';

function keyDetails(key: SigningKey): [string, string][] {
  return [
    ['kid', key.kid],
    ['alg', key.alg],
    ['state', key.state],
    ['published', key.published ? 'yes' : 'no'],
    ['created', time(key.createdAt)],
    ['activates', time(key.activatesAt)],
    ['activated', time(key.activatedAt)],
    ['retired', time(key.retiredAt)],
    ['revoked', time(key.revokedAt)],
  ];
}

function printKey(context: Context, heading: string, key: SigningKey): void {
  context.print(`${heading}\n${fields(keyDetails(key))}`);
}

export function keyCommands(io: Io): Command {
  const group = new Command('keys').description('signing keys: list, rotate, revoke (emergency)');

  group.addCommand(
    new Command('list').description('every signing key, newest first, with its state').action(
      action(io, async (context) => {
        const answer = await context.client.get<{ items: SigningKey[] }>('/admin/keys');
        if (context.json) return context.printJson(answer);
        context.print(
          table(
            ['KID', 'ALG', 'STATE', 'PUBLISHED', 'CREATED', 'ACTIVE FROM', 'RETIRED/REVOKED'],
            answer.items.map((key) => [
              key.kid,
              key.alg,
              key.state,
              key.published ? 'yes' : 'no',
              time(key.createdAt),
              time(key.activatedAt ?? key.activatesAt),
              time(key.revokedAt ?? key.retiredAt),
            ]),
          ),
        );
      }),
    ),
  );

  group.addCommand(
    new Command('rotate')
      .description(
        'publish a new key now; it signs after KEY_ROTATION_DELAY_SECONDS and the active key retires',
      )
      .action(
        action(io, async (context) => {
          const key = await context.client.post<SigningKey>('/admin/keys/rotate');
          if (context.json) return context.printJson(key);
          printKey(context, `rotated: new key ${key.kid} (${key.state})`, key);
        }),
      ),
  );

  group.addCommand(
    new Command('revoke')
      .description('emergency: withdraw a key believed compromised; tokens it signed stop being accepted')
      .argument('<kid>')
      .action(
        action(io, async (context, [kid]) => {
          const answer = await context.client.post<{ revoked: SigningKey; active: SigningKey }>(
            apiPath('/admin/keys', kid!) + '/revoke',
          );
          if (context.json) return context.printJson(answer);
          printKey(context, `revoked key ${answer.revoked.kid}`, answer.revoked);
          context.print(`\nsigning now with ${answer.active.kid}`);
        }),
      ),
  );
  return group;
}
