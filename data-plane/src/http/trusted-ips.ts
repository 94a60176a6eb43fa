/** Kong's `trusted_ips`: clients whose X-Forwarded-* headers are believed. Compiled once into a native BlockList. */
import { BlockList, isIP } from 'node:net'

export interface TrustedIps {
  /** Whether the peer address (as node reports it) is trusted. */
  has(address: string | undefined): boolean
}

const NOBODY: TrustedIps = { has: () => false }

export function compileTrustedIps(cidrs: readonly string[]): TrustedIps {
  if (cidrs.length === 0) return NOBODY
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [addr = '', bits] = cidr.split('/')
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(addr, family)
    else list.addSubnet(addr, Number(bits), family)
  }
  return {
    has(address) {
      if (!address) return false
      // IPv4 clients on a dual-stack listener show up as ::ffff:a.b.c.d.
      if (address.startsWith('::ffff:') && address.includes('.')) return list.check(address.slice(7), 'ipv4')
      return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
    },
  }
}
