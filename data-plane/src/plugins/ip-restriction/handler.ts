/** ip-restriction: rejects clients by address or CIDR (IPv4 and IPv6), deny list first, then the allow list. */
import { BlockList, isIPv4 } from 'node:net'
import type { IpRestrictionConfig } from '@turnpike/shared'
import { defineHandler } from '../../pipeline/types.ts'

export const DEFAULT_MESSAGE = 'Your IP address is not allowed'

/** A BlockList of addresses and CIDRs; IPv4-mapped IPv6 clients are matched as IPv4 by the caller. */
export function addressList(entries: readonly string[] | null): BlockList | null {
  if (!entries?.length) return null
  const list = new BlockList()
  for (const entry of entries) {
    const [addr, bits] = entry.split('/')
    const type = isIPv4(addr) ? 'ipv4' : 'ipv6'
    if (bits === undefined) list.addAddress(addr, type)
    else list.addSubnet(addr, Number(bits), type)
  }
  return list
}

interface Compiled {
  deny: BlockList | null
  allow: BlockList | null
  status: number
  message: string
}

export const ipRestrictionHandler = defineHandler<IpRestrictionConfig, Compiled>({
  compile(conf) {
    return {
      deny: addressList(conf.deny),
      allow: addressList(conf.allow),
      status: conf.status ?? 403,
      message: conf.message ?? DEFAULT_MESSAGE,
    }
  },
  access(ctx, c) {
    const ip = ctx.request.clientIp
    const type = isIPv4(ip) ? 'ipv4' : 'ipv6'
    if (c.deny?.check(ip, type)) return ctx.error(c.status, c.message)
    if (c.allow && !c.allow.check(ip, type)) return ctx.error(c.status, c.message)
    return undefined
  },
})
