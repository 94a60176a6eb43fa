import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { validateSnapshotEntities } from './validate-snapshot.ts'

const CA = '00000000-0000-4000-8000-0000000000ca'
const NOPE = '00000000-0000-4000-8000-00000000dead'
const svc = (fields: Record<string, unknown> = {}) => ({
  id: 's1',
  host: 'upstream.test',
  protocol: 'https',
  ...fields,
})

describe('validateSnapshotEntities: TLS material', () => {
  it('reads certificates, snis and CA certificates, and resolves service references', async () => {
    const out = await validateSnapshotEntities({
      services: [
        svc({ ca_certificates: [CA], client_certificate: { id: 'c1' }, tls_verify: true, tls_verify_depth: 2 }),
      ],
      certificates: [{ id: 'c1', cert: 'CERT', key: 'KEY' }],
      snis: [{ id: 'n1', name: 'API.test', certificate: { id: 'c1' } }],
      ca_certificates: [{ id: CA, cert: 'CA' }],
    })
    assert.ok(out.ok)
    assert.deepEqual(out.rows.snis, [{ name: 'api.test', certificate_id: 'c1' }])
    assert.deepEqual(out.rows.certificates, [{ id: 'c1', cert: 'CERT', key: 'KEY', cert_alt: null, key_alt: null }])
    const s = out.rows.services[0]!
    assert.deepEqual([s.client_certificate_id, s.ca_certificates, s.tls_verify_depth], ['c1', [CA], 2])
  })
  it('rejects dangling references and duplicate server names', async () => {
    const out = await validateSnapshotEntities({
      services: [svc({ ca_certificates: [NOPE], client_certificate: { id: 'missing' } })],
      certificates: [{ id: 'c1', cert: 'CERT', key: 'KEY' }],
      snis: [
        { id: 'n1', name: 'a.test', certificate: { id: 'c1' } },
        { id: 'n2', name: 'a.test', certificate: { id: 'c1' } },
        { id: 'n3', name: 'b.test', certificate: { id: 'c9' } },
      ],
    })
    assert.equal(out.ok, false)
    const text = out.ok ? '' : out.errors.join('\n')
    assert.match(text, /ca_certificate 00000000-0000-4000-8000-00000000dead does not exist/)
    assert.match(text, /certificate missing does not exist/)
    assert.match(text, /duplicate sni name/)
    assert.match(text, /certificate c9 does not exist/)
  })
})
