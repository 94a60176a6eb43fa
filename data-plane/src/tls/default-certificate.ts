/**
 * The certificate TLS listeners present when no SNI names one: `ssl_cert`/`ssl_cert_key` (PEM text or file
 * paths), else a self-signed one generated on first start under `<prefix>/ssl/` and reused afterwards, as Kong
 * does with its `kong-default` certificate.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Logger, Settings } from '@turnpike/shared'
import { issueCertificate } from './self-signed.ts'

export interface CertificatePair {
  cert: string
  key: string
}

const pemOrFile = async (value: string) => (value.includes('-----BEGIN') ? value : readFile(value, 'utf8'))

export async function loadDefaultCertificate(settings: Settings, logger: Logger): Promise<CertificatePair> {
  if (settings.ssl_cert) {
    return { cert: await pemOrFile(settings.ssl_cert), key: await pemOrFile(settings.ssl_cert_key) }
  }
  const dir = join(settings.prefix, 'ssl')
  const certPath = join(dir, 'turnpike-default.crt')
  const keyPath = join(dir, 'turnpike-default.key')
  try {
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const pair = issueCertificate({ commonName: 'localhost', altNames: ['localhost', hostname(), '127.0.0.1', '::1'] })
  await mkdir(dir, { recursive: true })
  await writeFile(keyPath, pair.key, { mode: 0o600 })
  await writeFile(certPath, pair.cert)
  logger.warn({ cert: certPath }, 'no ssl_cert configured: generated a self-signed default certificate')
  return pair
}
