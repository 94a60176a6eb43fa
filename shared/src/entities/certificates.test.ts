import assert from 'node:assert/strict'
import { test } from 'node:test'
import { validateEntity } from '../schema/validate.ts'
import { caCertificates } from './ca-certificates.ts'
import { certificates } from './certificates.ts'
import { snis } from './snis.ts'
import { CA_CERT, CA_KEY, EC_CERT, EC_KEY, EXPIRED_CA_CERT, LEAF_CERT, LEAF_KEY } from './test-fixtures.ts'

const CERT = { id: '5d9f1c1e-3a57-4f0e-8a51-0c5a4a8c7f11' }

test('certificate and key must parse and match', () => {
  const ok = validateEntity(certificates, { cert: LEAF_CERT, key: LEAF_KEY, cert_alt: EC_CERT, key_alt: EC_KEY })
  assert.ok(ok.ok)
  const mismatch = validateEntity(certificates, { cert: LEAF_CERT, key: CA_KEY })
  assert.ok(!mismatch.ok)
  assert.deepEqual(mismatch.errors, { '@entity': ['certificate does not match key'] })
  const invalid = validateEntity(certificates, { cert: 'nope', key: 'nope' })
  assert.ok(!invalid.ok)
  assert.match(invalid.errors.cert as string, /^invalid certificate: /)
  assert.match(invalid.errors.key as string, /^invalid key: /)
  const missing = validateEntity(certificates, {})
  assert.ok(!missing.ok)
  assert.deepEqual(missing.errors, { cert: 'required field missing', key: 'required field missing' })
})

test('alternate pair: both or neither, matching, of another key type', () => {
  const half = validateEntity(certificates, { cert: LEAF_CERT, key: LEAF_KEY, cert_alt: EC_CERT })
  assert.ok(!half.ok)
  assert.deepEqual(half.errors, { '@entity': ["all or none of these fields must be set: 'cert_alt', 'key_alt'"] })
  const sameType = validateEntity(certificates, { cert: LEAF_CERT, key: LEAF_KEY, cert_alt: CA_CERT, key_alt: CA_KEY })
  assert.ok(!sameType.ok)
  assert.match((sameType.errors['@entity'] as string[])[0], /^certificate and alternative certificate need to have/)
  const wrongAlt = validateEntity(certificates, { cert: LEAF_CERT, key: LEAF_KEY, cert_alt: EC_CERT, key_alt: CA_KEY })
  assert.ok(!wrongAlt.ok)
  assert.deepEqual(wrongAlt.errors['@entity'], ['alternative certificate does not match key'])
})

test('sni names allow one wildcard at either end', () => {
  assert.ok(validateEntity(snis, { name: '*.example.com', certificate: CERT }).ok)
  assert.ok(validateEntity(snis, { name: 'example.*', certificate: CERT }).ok)
  const bad = (name: string) => {
    const r = validateEntity(snis, { name, certificate: CERT })
    return r.ok ? undefined : r.errors.name
  }
  assert.equal(bad('a.*.com'), 'wildcard must be leftmost or rightmost character')
  assert.equal(bad('*.example.*'), 'only one wildcard must be specified')
  assert.equal(bad('10.0.0.1'), 'must not be an IP')
  assert.equal(bad('example.com:443'), 'must not have a port')
  const noCert = validateEntity(snis, { name: 'example.com' })
  assert.ok(!noCert.ok)
  assert.deepEqual(noCert.errors, { certificate: 'required field missing' })
})

test('ca certificate: digest derived, CA constraint and expiry checked', () => {
  const ok = validateEntity(caCertificates, { cert: CA_CERT })
  assert.ok(ok.ok)
  assert.match(ok.value.cert_digest as string, /^[0-9a-f]{64}$/)
  const leaf = validateEntity(caCertificates, { cert: LEAF_CERT })
  assert.ok(!leaf.ok)
  assert.deepEqual(leaf.errors, {
    '@entity': ['certificate does not appear to be a CA because it is missing the "CA" basic constraint'],
  })
  const expired = validateEntity(caCertificates, { cert: EXPIRED_CA_CERT })
  assert.ok(!expired.ok)
  assert.deepEqual(expired.errors, { '@entity': ['certificate expired, "Not After" time is in the past'] })
  const two = validateEntity(caCertificates, { cert: CA_CERT + EXPIRED_CA_CERT })
  assert.ok(!two.ok)
  assert.deepEqual(two.errors, { '@entity': ['please submit only one certificate at a time'] })
})
