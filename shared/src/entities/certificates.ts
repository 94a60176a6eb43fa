import { defineEntity } from '../schema/define.ts'
import { custom, distinct, entityChecks, mutuallyRequired } from './checks.ts'
import { certificateKeyType, certificateMatchesKey } from './pem.ts'
import { certificate, privateKey } from './typedefs.ts'

const bothStrings = (a: unknown, b: unknown): boolean => typeof a === 'string' && typeof b === 'string'

/** Kong's `certificates`: a TLS certificate and key, optionally with an alternate pair of another key type. */
export const certificates = defineEntity({
  name: 'certificates',
  admin_path: 'certificates',
  in_snapshot: true,
  // Kong's transient `snis` list: SNI rows created, replaced and echoed with the certificate.
  transient_children: [{ field: 'snis', child: 'snis', foreign: 'certificate', key: 'name' }],
  fields: {
    cert: { ...certificate, required: true },
    key: { ...privateKey, required: true },
    cert_alt: certificate,
    key_alt: privateKey,
  },
  checks: [
    entityChecks(
      mutuallyRequired(['cert_alt', 'key_alt']),
      distinct(['cert', 'cert_alt']),
      distinct(['key', 'key_alt']),
      custom((c) =>
        bothStrings(c.cert, c.key) && !certificateMatchesKey(c.cert as string, c.key as string)
          ? 'certificate does not match key'
          : undefined,
      ),
      custom((c) =>
        bothStrings(c.cert_alt, c.key_alt) && !certificateMatchesKey(c.cert_alt as string, c.key_alt as string)
          ? 'alternative certificate does not match key'
          : undefined,
      ),
      // The alternate pair exists to serve a second key type (RSA next to ECDSA).
      custom((c) =>
        bothStrings(c.cert, c.cert_alt) &&
        certificateKeyType(c.cert as string) === certificateKeyType(c.cert_alt as string)
          ? 'certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type'
          : undefined,
      ),
    ),
  ],
})
