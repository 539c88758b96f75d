/**
 * `chain <txn>`: the delegation tree of one chain (`/admin/chains/{txn}`), drawn in the terminal.
 * Agents that acted in it and are now disabled or deleted are marked, from their registry entry.
 */
import { Command } from 'commander';
import { apiPath, type AdminClient } from '../client.js';
import { action, type Io } from '../context.js';
import { ApiError } from '../errors.js';
import { chainActors, chainTree, type AgentMark } from '../render.js';
import type { ChainTree } from '../types.js';

async function agentMarks(client: AdminClient, actors: readonly string[]): Promise<Map<string, AgentMark>> {
  const marks = new Map<string, AgentMark>();
  await Promise.all(
    actors.map(async (actor) => {
      try {
        const agent = await client.get<{ status?: string }>(apiPath('/admin/agents', actor));
        if (agent.status === 'disabled') marks.set(actor, 'disabled');
      } catch (error) {
        // Deleted agents answer 404 (CONTRACT §4); anything else is a real failure.
        if (error instanceof ApiError && error.status === 404) marks.set(actor, 'deleted');
        else throw error;
      }
    }),
  );
  return marks;
}

export function chainCommand(io: Io): Command {
  return new Command('chain')
    .description('draw the delegation tree of a chain: actor → audience, scopes, status, expiry per token')
    .argument('<txn>', 'the chain id (the txn claim of any of its tokens)')
    .action(
      action(io, async (context, [txn]) => {
        const chain = await context.client.get<ChainTree>(apiPath('/admin/chains', txn!));
        if (context.json) return context.printJson(chain);
        context.print(chainTree(chain, await agentMarks(context.client, chainActors(chain))));
      }),
    );
}
