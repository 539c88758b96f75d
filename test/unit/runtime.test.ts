import { describe, expect, it } from 'vitest';
import { unsupportedRuntimeNotice, type Runtime } from '../../src/runtime.js';

const linux = { platform: 'linux', arch: 'x64', binaryInstalled: true };

describe('unsupportedRuntimeNotice', () => {
  it.each<[string, Runtime]>([
    ['Node.js 22 LTS (Jod)', { ...linux, version: 'v22.23.3', lts: 'Jod' }],
    ['Node.js 24 LTS (Krypton)', { ...linux, version: 'v24.11.0', lts: 'Krypton' }],
  ])('says nothing on %s', (_name, runtime) => {
    expect(unsupportedRuntimeNotice(runtime, 'npm start')).toBeNull();
  });

  it('points at npm start when Node.js 20 runs beside the installed Node.js 22', () => {
    const notice = unsupportedRuntimeNotice({ ...linux, version: 'v20.20.2', lts: 'Iron' }, 'npm start');
    expect(notice).toMatch(/^Node\.js v20\.20\.2 is running; oidc-provider supports Node\.js 22 LTS/);
    expect(notice).toMatch(/installed Node\.js 22 in node_modules\/\.bin\/node, .*: use npm start$/);
  });

  it('says to install Node.js 22 where npm publishes no binary for the platform', () => {
    const notice = unsupportedRuntimeNotice(
      {
        version: 'v20.20.2',
        lts: 'Iron',
        platform: 'darwin',
        arch: 'arm64',
        binaryInstalled: false,
      },
      'npm start',
    );
    expect(notice).toContain('no Node.js 22 binary for darwin-arm64');
    expect(notice).toMatch(/install Node\.js 22 LTS$/);
  });

  it('counts a Current release as unsupported, as oidc-provider does', () => {
    expect(unsupportedRuntimeNotice({ ...linux, version: 'v25.2.0', lts: undefined }, 'npm test')).toContain(
      'Node.js v25.2.0 is running',
    );
  });
});
