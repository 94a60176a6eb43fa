import { defineEntity } from '../schema/define.ts'
import { custom, entityChecks } from './checks.ts'
import { certificateDigest, countCertificates, parseCertificate } from './pem.ts'
import { certificate } from './typedefs.ts'

/** Kong's `ca_certificates`: trusted CAs for upstream TLS verification and mTLS. */
export const caCertificates = defineEntity({
  name: 'ca_certificates',
  admin_path: 'ca_certificates',
  in_snapshot: true,
  fields: {
    cert: { ...certificate, required: true },
    // Derived from `cert` on every write (Kong's on_write transformation); unique, so a CA is stored once.
    cert_digest: { type: 'string', unique: true },
  },
  shorthands: {
    cert: (v) => {
      const digest = typeof v === 'string' ? certificateDigest(v) : undefined
      return digest === undefined ? { cert: v } : { cert: v, cert_digest: digest }
    },
  },
  checks: [
    entityChecks(
      // One Kong check: the first failure wins.
      custom((c) => {
        if (countCertificates(c.cert as string) > 1) return 'please submit only one certificate at a time'
        const cert = parseCertificate(c.cert as string)
        if (typeof cert === 'string') return undefined
        if (new Date(cert.validTo).getTime() < Date.now()) return 'certificate expired, "Not After" time is in the past'
        if (!cert.ca) return 'certificate does not appear to be a CA because it is missing the "CA" basic constraint'
        return undefined
      }),
    ),
  ],
})
