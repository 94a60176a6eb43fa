import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CertificateIndex } from './certificate-index.ts'
import { issueCertificate } from './self-signed.ts'

const a = { id: 'a', ...issueCertificate({ commonName: 'a.test' }), cert_alt: null, key_alt: null }
const b = { id: 'b', ...issueCertificate({ commonName: 'b.test' }), cert_alt: null, key_alt: null }
const c = { id: 'c', ...issueCertificate({ commonName: 'c.test' }), cert_alt: null, key_alt: null }

describe('CertificateIndex', () => {
  const index = new CertificateIndex(
    [a, b, c],
    [
      { name: 'a.test', certificate_id: 'a' },
      { name: '*.b.test', certificate_id: 'b' },
      { name: 'c.*', certificate_id: 'c' },
    ],
  )
  it('finds exact names first, then a leftmost, then a rightmost one-label wildcard', () => {
    assert.ok(index.lookup('a.test'))
    assert.equal(index.lookup('A.TEST'), index.lookup('a.test'))
    assert.ok(index.lookup('x.b.test'))
    assert.equal(index.lookup('y.x.b.test'), undefined)
    assert.ok(index.lookup('c.example'))
    assert.equal(index.lookup('other.test'), undefined)
  })
  it('reuses built contexts for unchanged certificates and rebuilds changed ones', () => {
    const before = index.lookup('a.test')
    const same = new CertificateIndex([a], [{ name: 'a.test', certificate_id: 'a' }], index)
    assert.equal(same.lookup('a.test'), before)
    const changed = { ...a, ...issueCertificate({ commonName: 'a.test' }) }
    const next = new CertificateIndex([changed], [{ name: 'a.test', certificate_id: 'a' }], index)
    assert.notEqual(next.lookup('a.test'), before)
  })
})
