/** The hosts file (`dns_hostsfile`): names in it resolve from it before any DNS query, as in Kong. */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'

export interface HostsEntry {
  readonly ipv4: readonly string[]
  readonly ipv6: readonly string[]
}

/** Parses hosts-file text: `address name [alias…]` lines, `#` comments; names lowercased, first address first. */
export function parseHostsFile(text: string): Map<string, HostsEntry> {
  const out = new Map<string, { ipv4: string[]; ipv6: string[] }>()
  for (const line of text.split('\n')) {
    const [address = '', ...names] = line.replace(/#.*$/, '').trim().split(/\s+/)
    // A zone index (fe80::1%eth0) cannot be dialled as a plain address; such lines are skipped.
    const family = isIP(address)
    if (family === 0) continue
    for (const raw of names) {
      const name = raw.toLowerCase().replace(/\.$/, '')
      if (name === '') continue
      let entry = out.get(name)
      if (!entry) {
        entry = { ipv4: [], ipv6: [] }
        out.set(name, entry)
      }
      const list = family === 4 ? entry.ipv4 : entry.ipv6
      if (!list.includes(address)) list.push(address)
    }
  }
  return out
}

/**
 * Reads the hosts file once: Kong too reads it at start, so an edit needs a restart. A missing or unreadable file
 * means no entries (`error` says why), not a failed start.
 */
export function readHostsFile(path: string): { entries: Map<string, HostsEntry>; error: string | undefined } {
  if (path === '') return { entries: new Map(), error: undefined }
  try {
    return { entries: parseHostsFile(readFileSync(path, 'utf8')), error: undefined }
  } catch (err) {
    return { entries: new Map(), error: (err as Error).message }
  }
}
