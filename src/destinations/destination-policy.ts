/**
 * Which destinations Herald may call (SSRF protection). Private, loopback, link-local and other
 * non-public addresses are refused unless an operator allows them by host name or CIDR.
 *
 * The check applies to resolved addresses, twice: the API resolves the host when a message is
 * submitted (a clear 422 early), and the worker checks every address it actually connects to (so a
 * DNS answer that changes after submission, "DNS rebinding", cannot reach an internal service).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

export interface DestinationPolicy {
  /** Host names allowed whatever they resolve to (lower case). */
  hosts: Set<string>;
  cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

/** Error code of a connection refused by the policy; the delivery activity treats it as permanent. */
export const DESTINATION_BLOCKED = 'EDESTINATIONBLOCKED';

/** Parses allowlist entries: host names, IP addresses or CIDRs. Throws on a malformed CIDR. */
export function parseAllowlist(entries: string[]): DestinationPolicy {
  const policy: DestinationPolicy = { hosts: new Set(), cidrs: [] };
  for (const raw of entries.map((entry) => entry.trim()).filter(Boolean)) {
    if (raw.includes('/')) {
      policy.cidrs.push(ipaddr.parseCIDR(raw));
    } else if (ipaddr.isValid(raw)) {
      const address = ipaddr.parse(raw);
      policy.cidrs.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else {
      policy.hosts.add(raw.toLowerCase());
    }
  }
  return policy;
}

/** Whether an address (already resolved) may be called. Only public unicast addresses pass by default. */
export function isAddressAllowed(address: string, policy: DestinationPolicy): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d) forms reach IPv4 hosts:
    // judge them as the IPv4 address they carry.
    const parts = v6.parts;
    const compatible = parts.slice(0, 6).every((part) => part === 0) && (parts[6] !== 0 || (parts[7] ?? 0) > 1);
    if (v6.isIPv4MappedAddress()) {
      parsed = v6.toIPv4Address();
    } else if (compatible) {
      parsed = ipaddr.fromByteArray(v6.toByteArray().slice(12));
    }
  }
  for (const [network, prefix] of policy.cidrs) {
    if (network.kind() === parsed.kind() && parsed.match(network, prefix)) return true;
  }
  return parsed.range() === 'unicast';
}

/** Host name as it appears in a URL, without IPv6 brackets. */
function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

export type DestinationCheck = { ok: true } | { ok: false; reason: string };

/** Checks a destination URL: http(s), and every address its host resolves to is allowed. */
export async function checkDestination(
  rawUrl: string,
  policy: DestinationPolicy,
  resolve: (host: string) => Promise<string[]> = resolveAll,
): Promise<DestinationCheck> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { ok: false, reason: 'is not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `scheme ${url.protocol} is not allowed (use http or https)` };
  }
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  const host = bareHost(url.hostname);
  if (policy.hosts.has(host.toLowerCase())) return { ok: true };
  let addresses: string[];
  try {
    addresses = ipaddr.isValid(host) ? [host] : await resolve(host);
  } catch {
    return { ok: false, reason: `host ${host} could not be resolved` };
  }
  const blocked = addresses.find((address) => !isAddressAllowed(address, policy));
  if (blocked !== undefined) {
    return {
      ok: false,
      reason: `host ${host} resolves to ${blocked}, a private, loopback or reserved address (allow it with HERALD_DESTINATION_ALLOWLIST)`,
    };
  }
  return { ok: true };
}

/** Whether a URL's host is an IP literal that the policy refuses (connections to literals skip DNS lookup). */
export function isLiteralHostBlocked(url: URL, policy: DestinationPolicy): boolean {
  const host = bareHost(url.hostname);
  return ipaddr.isValid(host) && !policy.hosts.has(host) && !isAddressAllowed(host, policy);
}

async function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses.map((a) => a.address)),
    ),
  );
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net/tls connections (undici's `connect.lookup`) that refuses disallowed addresses
 * with DESTINATION_BLOCKED: the check sits where the connection is made, after the real DNS answer.
 */
export function guardedLookup(policy: DestinationPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const allowed = policy.hosts.has(hostname.toLowerCase())
        ? addresses
        : addresses.filter((a) => isAddressAllowed(a.address, policy));
      if (allowed.length === 0) {
        const blocked = Object.assign(
          new Error(`destination ${hostname} resolves only to addresses Herald may not call`),
          { code: DESTINATION_BLOCKED },
        );
        return callback(blocked, []);
      }
      if (options.all) return callback(null, allowed);
      const [first] = allowed;
      return callback(null, first!.address, first!.family);
    });
  };
}
