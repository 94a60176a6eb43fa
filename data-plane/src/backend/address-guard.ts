/**
 * The SSRF guard: the gateway never opens a connection to link-local or cloud metadata addresses unless
 * `upstream_allow_link_local` says so. Literal addresses are checked when a config compiles; names are checked on
 * every resolution, so a DNS answer cannot smuggle a metadata address in.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import { BlockList, isIP } from 'node:net'

const FORBIDDEN = new BlockList()
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4') // link-local, AWS/GCP/Azure metadata at 169.254.169.254
FORBIDDEN.addAddress('100.100.100.200', 'ipv4') // Alibaba Cloud metadata
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6') // link-local
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6') // AWS metadata over IPv6

/** Error code of a connection the guard refused. */
export const FORBIDDEN_ADDRESS = 'TURNPIKE_FORBIDDEN_ADDRESS'

/** Whether an IP literal (brackets allowed, IPv4-mapped IPv6 included) is link-local or a metadata address. */
export function isForbiddenAddress(address: string): boolean {
  const ip = address.startsWith('[') ? address.slice(1, -1) : address
  const family = isIP(ip)
  if (family === 4) return FORBIDDEN.check(ip, 'ipv4')
  if (family !== 6) return false
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  return mapped ? FORBIDDEN.check(mapped[1]!, 'ipv4') : FORBIDDEN.check(ip, 'ipv6')
}

function forbiddenError(hostname: string, address: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(
    `refusing to connect to ${hostname} (${address}): link-local and metadata addresses are blocked; set upstream_allow_link_local=on to allow them`,
  )
  err.code = FORBIDDEN_ADDRESS
  return err
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

/** A `net.connect` lookup that resolves as usual and drops forbidden addresses; fails when none is left. */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, options.all ? [] : '')
    const allowed = addresses.filter((a) => !isForbiddenAddress(a.address))
    if (allowed.length === 0) return callback(forbiddenError(hostname, addresses[0]?.address ?? '?'), '')
    if (options.all) return callback(null, allowed)
    callback(null, allowed[0]!.address, allowed[0]!.family)
  })
}
