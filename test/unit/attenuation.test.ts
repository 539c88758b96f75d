import { describe, expect, it } from 'vitest';

import { attenuateScopes } from '../../src/domain/index.js';
import type { RuleCode, ScopeAttenuationInput } from '../../src/domain/index.js';
import { expectRefusal } from './fixtures.js';

const base: ScopeAttenuationInput = {
  requested: null,
  subjectScopes: ['read', 'write', 'admin'],
  actorAllowed: ['write', 'read', 'mail'],
  audienceAccepted: ['read', 'write', 'mail', 'admin'],
};

describe('attenuateScopes', () => {
  it.each<{ name: string; input: Partial<ScopeAttenuationInput>; want: string[] }>([
    {
      name: 'grants all that remain when none is asked, in the actor order (SA-04)',
      input: {},
      want: ['write', 'read'],
    },
    {
      name: 'grants exactly what is asked when it is available',
      input: { requested: ['read'] },
      want: ['read'],
    },
    { name: 'keeps the requested order', input: { requested: ['read', 'write'] }, want: ['read', 'write'] },
    { name: 'drops duplicate requests', input: { requested: ['read', 'read'] }, want: ['read'] },
    {
      name: 'uses the actor and audience alone for client credentials (no subject)',
      input: { subjectScopes: null },
      want: ['write', 'read', 'mail'],
    },
    {
      name: 'narrows to what the audience accepts',
      input: { audienceAccepted: ['read'] },
      want: ['read'],
    },
    {
      name: 'ignores duplicates in the actor allow list',
      input: { actorAllowed: ['read', 'read'] },
      want: ['read'],
    },
  ])('$name', ({ input, want }) => {
    expect(attenuateScopes({ ...base, ...input })).toEqual({ ok: true, value: want });
  });

  it.each<{ name: string; input: Partial<ScopeAttenuationInput>; rule: RuleCode }>([
    {
      name: 'refuses a scope the subject does not hold, even if the actor may (SA-03)',
      input: { requested: ['mail'] },
      rule: 'scope_escalation',
    },
    {
      name: 'refuses a scope the actor may not hold, even if the subject does',
      input: { requested: ['admin'] },
      rule: 'scope_escalation',
    },
    {
      name: 'refuses a scope the audience does not accept',
      input: { requested: ['write'], audienceAccepted: ['read'] },
      rule: 'scope_escalation',
    },
    {
      name: 'fails the whole request when one of several scopes is outside (all or nothing)',
      input: { requested: ['read', 'admin'] },
      rule: 'scope_escalation',
    },
    { name: 'refuses a scope unknown to everyone', input: { requested: ['root'] }, rule: 'scope_escalation' },
    {
      name: 'refuses client credentials asking beyond the actor',
      input: { subjectScopes: null, requested: ['admin'] },
      rule: 'scope_escalation',
    },
    {
      name: 'never reads an empty request as all: it grants nothing',
      input: { requested: [] },
      rule: 'scope_empty',
    },
    { name: 'refuses when nothing remains', input: { subjectScopes: ['admin'] }, rule: 'scope_empty' },
    {
      name: 'refuses when the audience accepts nothing',
      input: { audienceAccepted: [] },
      rule: 'scope_empty',
    },
    { name: 'refuses when the actor may hold nothing', input: { actorAllowed: [] }, rule: 'scope_empty' },
  ])('$name', ({ input, rule }) => {
    expectRefusal(attenuateScopes({ ...base, ...input }), rule, 'invalid_scope');
  });
});
