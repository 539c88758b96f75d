/**
 * Issue #7 item 5: `docker compose up` runs two agent-sts instances behind one reverse proxy, with
 * PostgreSQL and Redis (README, "Running several instances"). Docker is not needed to check what
 * makes that safe: both instances share the settings they must agree on, the proxy is the only
 * address whose X-Forwarded-For they believe, the issuer is the proxy's public URL, and each
 * instance's environment passes the service's own configuration check.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';

const ROOT = new URL('../../', import.meta.url);
const INSTANCES = ['agent-sts-1', 'agent-sts-2'] as const;
/** What every instance must share to be interchangeable (README). */
const SHARED = ['ISSUER', 'KEY_ENCRYPTION_KEY', 'DATABASE_URL', 'REDIS_URL', 'ADMIN_TOKEN'];
/** What an operator supplies when running `docker compose up`. */
const OPERATOR_ENV: Record<string, string> = {
  ADMIN_TOKEN: 'a'.repeat(40),
  KEY_ENCRYPTION_KEY: 'b'.repeat(64),
};

interface Service {
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string }> | string[];
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(new URL('docker-compose.yml', ROOT), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const nginx = readFileSync(new URL('deploy/nginx.conf', ROOT), 'utf8');

/** Compose's `${NAME:-default}` and `${NAME:?error}`, as `docker compose` resolves them. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
    (_match, name: string, kind?: string, rest?: string) => {
      const given = env[name];
      if (given) return given;
      if (kind === '-') return rest ?? '';
      throw new Error(`compose needs ${name}: ${rest ?? ''}`);
    },
  );
}

function instanceEnv(name: string): Record<string, string> {
  const environment = compose.services[name]?.environment ?? {};
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [key, interpolate(String(value), OPERATOR_ENV)]),
  );
}

describe('docker-compose.yml', () => {
  const proxy = compose.services.proxy;

  it('runs two instances, PostgreSQL, Redis and a proxy', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['agent-sts-1', 'agent-sts-2', 'postgres', 'proxy', 'redis'].sort(),
    );
  });

  it('gives both instances the same issuer, key-encryption key, database and Redis', () => {
    const [one, two] = INSTANCES.map(instanceEnv);
    for (const name of SHARED) {
      expect(one?.[name], name).toBeTruthy();
      expect(two?.[name], name).toBe(one?.[name]);
    }
  });

  it('reaches the instances only through the proxy, whose public URL is the issuer', () => {
    for (const name of INSTANCES) expect(compose.services[name]?.ports).toBeUndefined();
    const published = (proxy?.ports ?? []).map((port) => port.split(':')[0]);
    expect(published).toEqual([new URL(instanceEnv('agent-sts-1').ISSUER ?? '').port]);
  });

  it('trusts the forwarded address of the proxy alone', () => {
    const networks = proxy?.networks as Record<string, { ipv4_address?: string }>;
    const proxyAddress = networks.sts?.ipv4_address;
    expect(proxyAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    for (const name of INSTANCES) {
      const config = loadConfig({ ...instanceEnv(name), DATA_DIR: '/nonexistent' });
      expect(config.trustProxy).toEqual({ kind: 'addresses', addresses: [proxyAddress] });
      expect(config.databaseUrl).not.toBeNull();
      expect(config.redisUrl).not.toBeNull();
    }
  });

  it('starts the proxy with the committed nginx configuration, once both instances are healthy', () => {
    expect(proxy?.volumes).toContain('./deploy/nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(proxy?.depends_on).toEqual(
      Object.fromEntries(INSTANCES.map((name) => [name, { condition: 'service_healthy' }])),
    );
  });
});

describe('deploy/nginx.conf', () => {
  it('spreads requests over both instances, on the port they listen on', () => {
    const servers = [...nginx.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((match) => match.slice(1));
    expect(servers).toEqual(INSTANCES.map((name) => [name, instanceEnv(name).PORT]));
  });

  it('replaces X-Forwarded-For with the address it saw, never appending what the client sent', () => {
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(nginx).not.toContain('$proxy_add_x_forwarded_for');
  });

  it('listens where docker-compose.yml publishes it', () => {
    const port = compose.services.proxy?.ports?.[0]?.split(':')[1];
    expect(nginx).toMatch(new RegExp(`^\\s*listen ${port};`, 'm'));
  });
});
