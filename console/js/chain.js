/**
 * One delegation chain (GET /admin/chains/{txn}) drawn as a tree: every token issued in it,
 * parent above child, each hop with its actor, audience, scopes, times and status. A revoked hop,
 * a hop whose agent is disabled or deleted, and every hop below such an agent (its chain is dead,
 * CONTRACT §3.4) are marked in colour and in words.
 */
import { api, segment } from './api.js';
import { badge, chips, confirmButton, h, reloadView, showError, time } from './dom.js';
import { chainHref } from './audit.js';

/** Each distinct actor's registry status: enabled, disabled, or deleted (a 404: deleted or unknown). */
async function agentStatuses(roots) {
  const actors = new Set();
  const visit = (node) => {
    actors.add(node.actor);
    node.children.forEach(visit);
  };
  roots.forEach(visit);
  const entries = await Promise.all(
    [...actors].map(async (actor) => {
      try {
        const agent = await api('GET', `/admin/agents/${segment(actor)}`);
        return [actor, agent.status];
      } catch (error) {
        return [actor, error.status === 404 ? 'deleted' : 'unknown'];
      }
    }),
  );
  return new Map(entries);
}

async function revoke(body, what) {
  try {
    const answer = await api('POST', '/admin/revocations', body);
    reloadView(['Revoked', `${answer.revoked} token(s): ${what}`]);
  } catch (error) {
    showError(error);
  }
}

/** The marks of one hop: its own status, its agent's, and a dead agent above it. */
function marksOf(node, agentStatus, deadAbove) {
  const marks = [badge(node.status)];
  if (agentStatus === 'disabled' || agentStatus === 'deleted') {
    marks.push(badge(`agent ${agentStatus}`, 'agent-dead'));
  } else if (deadAbove) {
    marks.push(badge(`dead: ${deadAbove} upstream`, 'agent-dead'));
  }
  if (node.impersonation) marks.push(badge('impersonation', 'warn'));
  if (node.jkt) marks.push(badge('DPoP-bound', 'info'));
  return marks;
}

function hopCard(node, agentStatus, deadAbove) {
  const dead = agentStatus === 'disabled' || agentStatus === 'deleted' || deadAbove !== null;
  const classes = ['hop', `status-${node.status}`];
  if (dead) classes.push('agent-dead');
  return h(
    'div',
    {
      class: classes.join(' '),
      dataset: {
        jti: node.jti,
        status: node.status,
        actor: node.actor,
        agentStatus: agentStatus ?? 'unknown',
      },
    },
    h(
      'div',
      { class: 'hop-head' },
      h('span', { class: 'depth', title: 'actors in the chain' }, `hop ${node.depth}`),
      h('code', { class: 'actor', title: 'actor (client_id)' }, node.actor),
      h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'),
      h('code', { class: 'audience', title: 'audience (aud)' }, node.aud),
      h('span', { class: 'marks' }, marksOf(node, agentStatus, deadAbove)),
    ),
    h(
      'dl',
      { class: 'hop-body' },
      h('dt', {}, 'scopes'),
      h('dd', { class: 'scopes' }, chips(node.scopes, 'chip scope')),
      h('dt', {}, 'issued'),
      h('dd', { class: 'issued' }, time(node.issuedAt)),
      h('dt', {}, 'expires'),
      h('dd', { class: 'expires' }, time(node.expiresAt)),
      node.revokedAt && [h('dt', {}, 'revoked'), h('dd', { class: 'revoked-at' }, time(node.revokedAt))],
      h('dt', {}, 'jti'),
      h('dd', {}, h('code', { class: 'jti' }, node.jti)),
    ),
    node.status === 'live' &&
      h(
        'div',
        { class: 'hop-actions' },
        confirmButton('Revoke this branch', 'Confirm: revoke it and everything below', () =>
          revoke({ jti: node.jti }, `hop ${node.depth} by ${node.actor} and its descendants`),
        ),
      ),
  );
}

function branch(nodes, statuses, deadAbove) {
  return h(
    'ul',
    { class: 'tree' },
    nodes.map((node) => {
      const agentStatus = statuses.get(node.actor);
      const ownDead = agentStatus === 'disabled' || agentStatus === 'deleted' ? node.actor : null;
      return h(
        'li',
        {},
        hopCard(node, agentStatus, deadAbove),
        node.children.length > 0 && branch(node.children, statuses, deadAbove ?? ownDead),
      );
    }),
  );
}

export async function chainView(txn) {
  const chain = await api('GET', `/admin/chains/${segment(txn)}`);
  const statuses = await agentStatuses(chain.roots);
  const subjects = [...new Set(chain.roots.map((root) => root.sub))];
  const anyLive = JSON.stringify(chain.roots).includes('"status":"live"');
  return h(
    'section',
    { class: 'chain-view', dataset: { txn } },
    h('h1', {}, 'Chain ', h('code', { class: 'txn' }, chain.txn)),
    h(
      'p',
      { class: 'chain-summary' },
      `${chain.tokenCount} token(s) issued in this chain. `,
      h('a', { href: `#/audit?txn=${segment(txn)}` }, 'Its audit events'),
      ' · ',
      h('a', { href: chainHref(txn) }, 'Reload'),
    ),
    h(
      'div',
      { class: 'tree-root' },
      h(
        'div',
        { class: 'origin' },
        h('span', { class: 'label' }, 'subject'),
        subjects.map((subject) => h('code', { class: 'subject' }, subject)),
      ),
      branch(chain.roots, statuses, null),
    ),
    h(
      'p',
      { class: 'legend' },
      badge('live'),
      ' usable until it expires · ',
      badge('expired'),
      ' · ',
      badge('revoked'),
      ' it or an ancestor was revoked · ',
      badge('agent disabled', 'agent-dead'),
      ' its agent is disabled or deleted, so the hop and everything below are dead',
    ),
    anyLive &&
      h(
        'div',
        { class: 'buttons' },
        confirmButton('Revoke the whole chain', 'Confirm: revoke every token of this chain', () =>
          revoke({ txn }, 'the whole chain'),
        ),
      ),
  );
}
