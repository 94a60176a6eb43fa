/** PEM parsing for certificates and keys, via node:crypto (Kong uses OpenSSL the same way). */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto'

const BEGIN_CERTIFICATE = /-----BEGIN CERTIFICATE-----/g

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** Parses the first certificate of a PEM string, or returns the parser's error. */
export function parseCertificate(pem: string): X509Certificate | string {
  try {
    return new X509Certificate(pem)
  } catch (e) {
    return reason(e)
  }
}

/** Parses a private key PEM, or returns the parser's error. */
export function parsePrivateKey(pem: string): KeyObject | string {
  try {
    return createPrivateKey(pem)
  } catch (e) {
    return reason(e)
  }
}

/** Whether the string holds a public key (or anything a public key can be derived from). */
export function isPublicKeyPem(pem: string): boolean {
  try {
    createPublicKey(pem)
    return true
  } catch {
    return false
  }
}

export function countCertificates(pem: string): number {
  return pem.match(BEGIN_CERTIFICATE)?.length ?? 0
}

/** Whether the private key belongs to the certificate's public key. */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  const cert = parseCertificate(certPem)
  const key = parsePrivateKey(keyPem)
  if (typeof cert === 'string' || typeof key === 'string') return false
  return cert.checkPrivateKey(key)
}

/** The certificate's public key type (`rsa`, `ec`, `ed25519` …). */
export function certificateKeyType(certPem: string): string | undefined {
  const cert = parseCertificate(certPem)
  return typeof cert === 'string' ? undefined : cert.publicKey.asymmetricKeyType
}

/** Lowercase hex SHA-256 of the DER encoding: Kong's `ca_certificates.cert_digest`. */
export function certificateDigest(certPem: string): string | undefined {
  const cert = parseCertificate(certPem)
  return typeof cert === 'string' ? undefined : createHash('sha256').update(cert.raw).digest('hex')
}
