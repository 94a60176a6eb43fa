/**
 * X.509 certificates made with node:crypto alone (a minimal DER writer: EC P-256 keys, ECDSA-SHA256 signatures),
 * because the slim Node images have no `openssl` binary. Used for the proxy's default certificate and by tests
 * that need a CA, server and client certificates.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { isIP } from 'node:net'

const concat = (parts: Buffer[]) => Buffer.concat(parts)

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length
  let len: Buffer
  if (n < 0x80) len = Buffer.from([n])
  else {
    const bytes: number[] = []
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff)
    len = Buffer.from([0x80 | bytes.length, ...bytes])
  }
  return concat([Buffer.from([tag]), len, content])
}

const seq = (...items: Buffer[]) => tlv(0x30, concat(items))
const set = (...items: Buffer[]) => tlv(0x31, concat(items))
const explicit = (n: number, content: Buffer) => tlv(0xa0 + n, content)
const octets = (content: Buffer) => tlv(0x04, content)
const bitString = (content: Buffer) => tlv(0x03, concat([Buffer.from([0]), content]))
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]))

function integer(bytes: Buffer): Buffer {
  let b = bytes
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1)
  return tlv(0x02, (b[0]! & 0x80) !== 0 ? concat([Buffer.from([0]), b]) : b)
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number)
  const out = [a * 40 + b]
  for (const n of rest) {
    const chunk: number[] = []
    for (let v = n; ; v = Math.floor(v / 128)) {
      chunk.unshift((v % 128) | (chunk.length ? 0x80 : 0))
      if (v < 128) break
    }
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) // YYYYMMDDHHMMSS
  // RFC 5280: UTCTime through 2049, GeneralizedTime after.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`))
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))))
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'))

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number))
  const [head = '', tail = ''] = ip.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  return Buffer.from(groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]))
}

export interface IssuedCertificate {
  /** PEM certificate. */
  cert: string
  /** PEM PKCS#8 private key. */
  key: string
}

export interface CertificateRequest {
  commonName: string
  /** DNS names and IP addresses for subjectAltName (defaults to the common name). */
  altNames?: readonly string[]
  /** A CA certificate (basicConstraints CA:TRUE). */
  ca?: boolean
  /** Signs with this issuer instead of self-signing. */
  issuer?: IssuedCertificate & { commonName: string }
  days?: number
  notBefore?: Date
}

/** Issues a certificate: self-signed unless an issuer is given. */
export function issueCertificate(req: CertificateRequest): IssuedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const notBefore = req.notBefore ?? new Date(Date.now() - 60_000)
  const notAfter = new Date(notBefore.getTime() + (req.days ?? 3650) * 86_400_000)
  const altNames = req.altNames ?? (req.ca ? [] : [req.commonName])
  const extensions: Buffer[] = [
    seq(oid('2.5.29.19'), bool(true), octets(req.ca ? seq(bool(true)) : seq())),
    // keyUsage: keyCertSign + cRLSign for a CA, digitalSignature for a leaf.
    seq(oid('2.5.29.15'), bool(true), octets(bitString(Buffer.from([req.ca ? 0x06 : 0x80])))),
  ]
  if (altNames.length)
    extensions.push(
      seq(
        oid('2.5.29.17'),
        octets(seq(...altNames.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii')))))),
      ),
    )
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(concat([Buffer.from([0x01]), randomBytes(15)])),
    ECDSA_SHA256,
    name(req.issuer?.commonName ?? req.commonName),
    seq(time(notBefore), time(notAfter)),
    name(req.commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  )
  const signer = req.issuer ? createPrivateKey(req.issuer.key) : privateKey
  const der = seq(tbs, ECDSA_SHA256, bitString(sign('sha256', tbs, signer)))
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n')
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  }
}
