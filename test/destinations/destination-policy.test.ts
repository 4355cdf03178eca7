/** Which addresses Herald may call: public unicast only, unless allowlisted by host, IP or CIDR. */
import { lookup } from 'node:dns';
import {
  checkDestination,
  guardedLookup,
  isAddressAllowed,
  parseAllowlist,
} from '../../src/destinations/destination-policy';

const none = parseAllowlist([]);

test.each([
  '10.0.0.1',
  '172.16.5.4',
  '192.168.1.1',
  '127.0.0.1',
  '169.254.169.254',
  '0.0.0.0',
  '100.64.0.1',
  '::1',
  'fe80::1',
  'fc00::1',
  '::ffff:10.0.0.1',
  '224.0.0.1',
  'not-an-ip',
])('%s is refused by default', (address) => {
  expect(isAddressAllowed(address, none)).toBe(false);
});

test.each(['::7f00:1', '::a00:1', '::c0a8:101'])(
  'the IPv4-compatible form %s is judged as the IPv4 address it carries',
  (address) => {
    expect(isAddressAllowed(address, none)).toBe(false);
  },
);

test.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:93.184.216.34'])(
  '%s (public) is allowed',
  (address) => {
    expect(isAddressAllowed(address, none)).toBe(true);
  },
);

test('CIDRs and single IPs in the allowlist open exactly their range', () => {
  const policy = parseAllowlist(['10.1.0.0/16', '127.0.0.1', 'fd00::/8']);
  expect(isAddressAllowed('10.1.200.3', policy)).toBe(true);
  expect(isAddressAllowed('10.2.0.1', policy)).toBe(false);
  expect(isAddressAllowed('127.0.0.1', policy)).toBe(true);
  expect(isAddressAllowed('127.0.0.2', policy)).toBe(false);
  expect(isAddressAllowed('fd12::1', policy)).toBe(true);
  expect(() => parseAllowlist(['10.0.0.0/40'])).toThrow();
});

test('checkDestination checks scheme, credentials and every resolved address', async () => {
  const resolver = (answers: Record<string, string[]>) => async (host: string) => {
    const found = answers[host];
    if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return found;
  };
  const dns = resolver({ 'public.test': ['93.184.216.34'], 'mixed.test': ['93.184.216.34', '10.0.0.7'] });
  expect(await checkDestination('https://public.test/x', none, dns)).toEqual({ ok: true });
  expect(await checkDestination('https://mixed.test/x', none, dns)).toMatchObject({
    ok: false,
    reason: expect.stringContaining('10.0.0.7'),
  });
  expect(await checkDestination('https://missing.test/x', none, dns)).toMatchObject({
    ok: false,
    reason: expect.stringContaining('could not be resolved'),
  });
  expect(await checkDestination('ftp://public.test/x', none, dns)).toMatchObject({
    ok: false,
    reason: expect.stringContaining('scheme'),
  });
  expect(await checkDestination('https://u:p@public.test/x', none, dns)).toMatchObject({
    ok: false,
    reason: 'must not contain credentials',
  });
  expect(await checkDestination('http://[::1]/x', none, dns)).toMatchObject({ ok: false });
  expect(await checkDestination('https://mixed.test/x', parseAllowlist(['mixed.test']), dns)).toEqual({ ok: true });
});

test('the guarded lookup refuses a name whose real answer is not allowed (read from /etc/hosts, no DNS traffic)', async () => {
  const guarded = guardedLookup(none);
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
    guarded('localhost', {}, (e) => resolve(e)),
  );
  expect(error?.code).toBe('EDESTINATIONBLOCKED');
  const allowed = guardedLookup(parseAllowlist(['127.0.0.1']));
  const address = await new Promise<unknown>((resolve, reject) =>
    allowed('localhost', { family: 4 }, (e, a) => (e ? reject(e) : resolve(a))),
  );
  expect(address).toBe('127.0.0.1');
  // Same answer as the system's own lookup for the allowed address.
  const system = await new Promise<string>((resolve) => lookup('localhost', { family: 4 }, (_e, a) => resolve(a)));
  expect(system).toBe('127.0.0.1');
});
