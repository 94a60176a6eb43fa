import assert from 'node:assert/strict'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { test } from 'node:test'
import { generateSelfSigned } from './self-signed.ts'

test('self-signed cluster certificates parse, match their key and verify themselves', () => {
  // Many, so a rare encoding slip (a serial needing a padding byte) shows up.
  for (let i = 0; i < 200; i++) {
    const { cert, key } = generateSelfSigned('turnpike_clustering', 30)
    const x = new X509Certificate(cert)
    assert.ok(x.checkPrivateKey(createPrivateKey(key)))
    assert.ok(x.verify(x.publicKey))
    assert.equal(x.subject, 'CN=turnpike_clustering')
    assert.equal(x.subjectAltName, 'DNS:turnpike_clustering')
    assert.ok(x.ca)
  }
  const long = new X509Certificate(generateSelfSigned('far.example', 365 * 40).cert)
  assert.ok(Date.parse(long.validTo) > Date.parse('2060-01-01'), 'GeneralizedTime past 2049')
})
