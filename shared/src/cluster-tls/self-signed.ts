/**
 * A self-signed X.509 certificate for cluster mTLS, written in DER by hand (node:crypto signs but cannot build
 * certificates, and `openssl` may be missing on a fresh machine). ECDSA P-256 with SHA-256; the certificate is
 * its own CA, so in `shared` mode every node trusts exactly this certificate.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content)
  return Buffer.concat([Buffer.from([tag]), length(body.length), body])
}

const sequence = (...items: Buffer[]) => tlv(0x30, ...items)
const set = (...items: Buffer[]) => tlv(0x31, ...items)
const octets = (b: Buffer) => tlv(0x04, b)
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b)
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'))
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner)
const TRUE = Buffer.from([0x01, 0x01, 0xff])

function integer(b: Buffer): Buffer {
  // Minimal and positive: leading zero bytes dropped, one 0x00 added back when the high bit is set.
  let i = 0
  while (i < b.length - 1 && b[i] === 0 && !(b[i + 1]! & 0x80)) i++
  const v = b.subarray(i)
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v)
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number)
  const out = [40 * a + b]
  for (const v of rest) {
    const chunk = [v & 0x7f]
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift(0x80 | (x & 0x7f))
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  // UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`))
}

const name = (cn: string) => sequence(set(sequence(oid('2.5.4.3'), utf8(cn))))
const extension = (id: string, critical: boolean, value: Buffer) =>
  sequence(oid(id), ...(critical ? [TRUE] : []), octets(value))

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').trimEnd()
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}

export interface GeneratedPair {
  /** PEM certificate. */
  cert: string
  /** PEM PKCS#8 private key. */
  key: string
}

/** A self-signed certificate for `commonName`, valid for `days` from now (a minute back, for clock skew). */
export function generateSelfSigned(commonName: string, days: number): GeneratedPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const spki = publicKey.export({ type: 'spki', format: 'der' })
  const ecdsaSha256 = sequence(oid('1.2.840.10045.4.3.2'))
  const notBefore = new Date(Date.now() - 60_000)
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000)
  const serial = randomBytes(16)
  // Positive and minimally encoded: DER forbids a leading zero byte the next byte does not need.
  serial[0] = (serial[0]! & 0x7f) | 0x40
  // The public key's bits, for the key identifiers.
  const keyId = createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest()
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaSha256,
    name(commonName),
    sequence(time(notBefore), time(notAfter)),
    name(commonName),
    spki,
    explicit(
      3,
      sequence(
        extension('2.5.29.19', true, sequence(TRUE)),
        // digitalSignature and keyCertSign.
        extension('2.5.29.15', true, bits(Buffer.from([0x84]), 2)),
        extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2'))),
        extension('2.5.29.17', false, sequence(tlv(0x82, Buffer.from(commonName, 'ascii')))),
        extension('2.5.29.14', false, octets(keyId)),
      ),
    ),
  )
  const signature = sign('sha256', tbs, privateKey)
  const cert = sequence(tbs, ecdsaSha256, bits(signature))
  return { cert: pem('CERTIFICATE', cert), key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
}
