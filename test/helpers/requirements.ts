/**
 * What some tests need beyond `npm test` on a bare machine. Without it they are skipped, and the
 * run says why: `describe.skipIf(unmet(SHARED_POSTGRES))(...)` prints the reason once per test
 * file (vitest shows it under the file's name), so a skip is never silent.
 */

export interface Requirement {
  readonly met: boolean;
  /** What is missing and why the tests cannot do without it. */
  readonly reason: string;
}

const databaseUrlSet = Boolean(process.env.DATABASE_URL);

/** Several instances of the service on one database, as pods behind a load balancer. */
export const SHARED_POSTGRES: Requirement = {
  met: databaseUrlSet,
  reason:
    'DATABASE_URL is unset: several instances share one database only on a PostgreSQL server; the embedded PGlite belongs to one process',
};

/** A database connection a test can cut, stall or take away, through a TCP proxy. */
export const POSTGRES_OVER_TCP: Requirement = {
  met: databaseUrlSet,
  reason:
    'DATABASE_URL is unset: cutting the database connection needs a PostgreSQL server reached over TCP; the embedded PGlite runs inside the process',
};

const announced = new Set<Requirement>();

/** True when the requirement is not met, after saying once why the tests that need it are skipped. */
export function unmet(requirement: Requirement): boolean {
  if (requirement.met) return false;
  if (!announced.has(requirement)) {
    announced.add(requirement);
    console.info(`skipped: ${requirement.reason}`);
  }
  return true;
}
