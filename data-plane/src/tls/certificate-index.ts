/**
 * The snapshot's certificates by server name, for the TLS listeners' SNI callback: exact names in a map, then
 * Kong's one-label wildcards (`*.example.com`, then `example.*`). SecureContexts are built on first use and carried
 * over to the next snapshot's index when the certificate is unchanged, so a config push costs no TLS work and a
 * changed certificate is served from the next handshake on.
 */
import { createSecureContext, type SecureContext } from 'node:tls'
import type { CertificateRow, SniRow } from '../runtime/entity-rows.ts'

interface Entry {
  readonly row: CertificateRow
  context: SecureContext | null
}

const sameCertificate = (a: CertificateRow, b: CertificateRow) =>
  a.cert === b.cert && a.key === b.key && a.cert_alt === b.cert_alt && a.key_alt === b.key_alt

export class CertificateIndex {
  readonly #byName = new Map<string, Entry>()
  readonly #byId = new Map<string, Entry>()

  constructor(certificates: readonly CertificateRow[], snis: readonly SniRow[], previous?: CertificateIndex) {
    for (const row of certificates) {
      const old = previous ? previous.#byId.get(row.id) : undefined
      this.#byId.set(row.id, { row, context: old && sameCertificate(old.row, row) ? old.context : null })
    }
    for (const sni of snis) {
      const entry = this.#byId.get(sni.certificate_id)
      if (entry) this.#byName.set(sni.name.toLowerCase().replace(/\.$/, ''), entry)
    }
  }

  get size(): number {
    return this.#byName.size
  }

  /** The context for a TLS server name, or undefined when no SNI names it (the listener's default applies). */
  lookup(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase()
    let entry = this.#byName.get(name)
    if (!entry) {
      const firstDot = name.indexOf('.')
      if (firstDot > 0) entry = this.#byName.get(`*${name.slice(firstDot)}`)
    }
    if (!entry) {
      const lastDot = name.lastIndexOf('.')
      if (lastDot > 0) entry = this.#byName.get(`${name.slice(0, lastDot + 1)}*`)
    }
    if (!entry) return undefined
    entry.context ??= secureContext(entry.row)
    return entry.context
  }
}

/** Both key types when an alternate pair is configured: OpenSSL picks the one the client's signature algorithms allow. */
export function secureContext(row: CertificateRow): SecureContext {
  return row.cert_alt && row.key_alt
    ? createSecureContext({ cert: [row.cert, row.cert_alt], key: [row.key, row.key_alt] })
    : createSecureContext({ cert: row.cert, key: row.key })
}
