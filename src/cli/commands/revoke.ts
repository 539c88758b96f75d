/** `revoke --jti|--txn|--agent`: revocation with cascade (CONTRACT §4, `/admin/revocations`). */
import { Command } from 'commander';
import { action, type Io } from '../context.js';
import { UsageError } from '../errors.js';

export function revokeCommand(io: Io): Command {
  return new Command('revoke')
    .description(
      'revoke one token and its descendants (--jti), a whole chain (--txn), or every live token an agent acted in or is addressed to (--agent); exactly one',
    )
    .option('--jti <jti>', 'a token, and every token derived from it')
    .option('--txn <txn>', 'every token of a chain')
    .option('--agent <client_id>', 'every live token the agent acted in or is addressed to')
    .action(
      action(io, async (context, _args, options) => {
        const given = (['jti', 'txn', 'agent'] as const).filter((name) => options[name] !== undefined);
        if (given.length !== 1) throw new UsageError('give exactly one of --jti, --txn, --agent');
        const name = given[0]!;
        const answer = await context.client.post<{ revoked: number; jtis: string[] }>('/admin/revocations', {
          [name]: options[name],
        });
        if (context.json) return context.printJson(answer);
        context.print(`revoked ${answer.revoked} token${answer.revoked === 1 ? '' : 's'}`);
        for (const jti of answer.jtis) context.print(`  ${jti}`);
      }),
    );
}
