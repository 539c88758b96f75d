import { describe, expect, it } from 'vitest';

import { classifyAddress, isFetchableClass, type AddressClass } from '../../src/protocol/address-class.js';

describe('classifyAddress', () => {
  it.each<{ address: string; want: AddressClass }>([
    // loopback, in every spelling that reaches it
    { address: '127.0.0.1', want: 'loopback' },
    { address: '127.255.255.254', want: 'loopback' },
    { address: '::1', want: 'loopback' },
    { address: '[::1]', want: 'loopback' },
    { address: '0:0:0:0:0:0:0:1', want: 'loopback' },
    { address: '::ffff:127.0.0.1', want: 'loopback' },
    { address: '[::ffff:7f00:1]', want: 'loopback' },
    { address: '0:0:0:0:0:ffff:127.1.2.3', want: 'loopback' },
    { address: '::127.0.0.1', want: 'loopback' },
    { address: '64:ff9b::7f00:1', want: 'loopback' },
    // unspecified
    { address: '0.0.0.0', want: 'unspecified' },
    { address: '0.1.2.3', want: 'unspecified' },
    { address: '::', want: 'unspecified' },
    { address: '[::]', want: 'unspecified' },
    { address: '::ffff:0.0.0.0', want: 'unspecified' },
    // link-local, where cloud metadata lives
    { address: '169.254.169.254', want: 'link-local' },
    { address: '169.254.0.1', want: 'link-local' },
    { address: '::ffff:169.254.169.254', want: 'link-local' },
    { address: '[::ffff:a9fe:a9fe]', want: 'link-local' },
    { address: '::169.254.169.254', want: 'link-local' },
    { address: 'fe80::1', want: 'link-local' },
    { address: 'fe80::1%eth0', want: 'link-local' },
    { address: 'FEBF::1', want: 'link-local' },
    // other metadata addresses
    { address: '100.100.100.200', want: 'metadata' },
    { address: 'fd00:ec2::254', want: 'metadata' },
    { address: '[fd00:ec2::254]', want: 'metadata' },
    // multicast and broadcast
    { address: '224.0.0.1', want: 'multicast' },
    { address: '239.255.255.250', want: 'multicast' },
    { address: 'ff02::1', want: 'multicast' },
    { address: '::ffff:224.0.0.251', want: 'multicast' },
    { address: '255.255.255.255', want: 'broadcast' },
    // private ranges stay fetchable: company IdPs live there
    { address: '10.0.0.1', want: 'private' },
    { address: '172.16.0.1', want: 'private' },
    { address: '172.31.255.255', want: 'private' },
    { address: '192.168.1.10', want: 'private' },
    { address: '100.64.0.1', want: 'private' },
    { address: 'fd12:3456::1', want: 'private' },
    { address: 'fc00::1', want: 'private' },
    { address: '::ffff:10.1.2.3', want: 'private' },
    // public
    { address: '203.0.113.7', want: 'public' },
    { address: '8.8.8.8', want: 'public' },
    { address: '172.32.0.1', want: 'public' },
    { address: '169.255.0.1', want: 'public' },
    { address: '126.255.255.255', want: 'public' },
    { address: '128.0.0.1', want: 'public' },
    { address: '2001:db8::1', want: 'public' },
    { address: '2606:4700:4700::1111', want: 'public' },
    { address: '::ffff:203.0.113.7', want: 'public' },
    { address: '[::ffff:cb00:7107]', want: 'public' },
    { address: 'fec0::1', want: 'private' },
  ])('classifies $address as $want', ({ address, want }) => {
    expect(classifyAddress(address)).toBe(want);
  });

  it.each(['localhost', 'idp.example', 'localtest.me', '', '127.0.0.1.nip.io', '[localhost]', '1.2.3'])(
    'does not classify %j, which is not an IP address',
    (text) => {
      expect(classifyAddress(text)).toBeNull();
    },
  );
});

describe('isFetchableClass', () => {
  it.each<{ addressClass: AddressClass; production: boolean; development: boolean }>([
    { addressClass: 'public', production: true, development: true },
    { addressClass: 'private', production: true, development: true },
    { addressClass: 'loopback', production: false, development: true },
    { addressClass: 'unspecified', production: false, development: false },
    { addressClass: 'link-local', production: false, development: false },
    { addressClass: 'metadata', production: false, development: false },
    { addressClass: 'multicast', production: false, development: false },
    { addressClass: 'broadcast', production: false, development: false },
  ])('$addressClass: $production, or $development with loopback allowed', (row) => {
    expect(isFetchableClass(row.addressClass, false)).toBe(row.production);
    expect(isFetchableClass(row.addressClass, true)).toBe(row.development);
  });
});
