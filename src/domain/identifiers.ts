/**
 * The shapes of the registry's identifiers (CONTRACT §4). A value of another shape can never name
 * a registry entry, so it is refused before it keys a cache or reaches the database: a request
 * cannot grow memory by sending ids the registry could not hold.
 */

/** CONTRACT §4: an agent id (`client_id`). */
export const AGENT_ID_PATTERN = '^[A-Za-z0-9._:/-]{3,200}$';
/** A resource id is the `aud` value, usually a URI: the agent charset, longer. */
export const RESOURCE_ID_PATTERN = '^[A-Za-z0-9._:/-]{3,500}$';
/** The longest URL the registry stores: a trusted issuer's `issuer`, a `jwksUri`. */
export const MAX_URL_LENGTH = 2000;

const AGENT_ID = new RegExp(AGENT_ID_PATTERN);
const RESOURCE_ID = new RegExp(RESOURCE_ID_PATTERN);
const MAX_AGENT_ID_LENGTH = 200;
const MAX_RESOURCE_ID_LENGTH = 500;

/** Whether `value` could be an agent id; the length is checked before the pattern runs. */
export function isAgentId(value: string): boolean {
  return value.length <= MAX_AGENT_ID_LENGTH && AGENT_ID.test(value);
}

/** Whether `value` could be a resource id. */
export function isResourceId(value: string): boolean {
  return value.length <= MAX_RESOURCE_ID_LENGTH && RESOURCE_ID.test(value);
}

/** Whether `value` could be a trusted issuer's identifier. */
export function isIssuerIdentifier(value: string): boolean {
  return value.length > 0 && value.length <= MAX_URL_LENGTH;
}
