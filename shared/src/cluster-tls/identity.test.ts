import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { PeerCertificate } from 'node:tls'
import { checkDataPlanePeer, loadClusterIdentity } from './identity.ts'
import { generateSelfSigned } from './self-signed.ts'

const base = {
  cluster_mtls: 'shared' as const,
  cluster_cert: '',
  cluster_cert_key: '',
  cluster_ca_cert: '',
  cluster_server_name: '',
  cluster_allowed_common_names: [],
}

test('cluster identity: off, shared from files or PEM text, and clear errors naming the setting', () => {
  assert.equal(loadClusterIdentity({ ...base, cluster_mtls: 'off' }), undefined)
  assert.throws(() => loadClusterIdentity(base), /cluster_mtls=shared needs cluster_cert and cluster_cert_key/)
  const pair = generateSelfSigned('turnpike_clustering', 10)
  const dir = mkdtempSync(join(tmpdir(), 'tp-tls-'))
  writeFileSync(join(dir, 'c.crt'), pair.cert)
  writeFileSync(join(dir, 'c.key'), pair.key)
  const fromFiles = loadClusterIdentity({
    ...base,
    cluster_cert: join(dir, 'c.crt'),
    cluster_cert_key: join(dir, 'c.key'),
  })!
  const fromText = loadClusterIdentity({ ...base, cluster_cert: pair.cert, cluster_cert_key: pair.key })!
  assert.equal(fromFiles.fingerprint, fromText.fingerprint)
  assert.equal(fromText.commonName, 'turnpike_clustering')
  assert.equal(fromText.serverName, 'turnpike_clustering')
  assert.ok(fromText.ca.equals(fromText.cert), 'shared mode trusts exactly its own certificate')
  const other = generateSelfSigned('x', 10)
  assert.throws(
    () => loadClusterIdentity({ ...base, cluster_cert: pair.cert, cluster_cert_key: other.key }),
    /cluster_cert_key does not match cluster_cert/,
  )
  assert.throws(
    () => loadClusterIdentity({ ...base, cluster_cert: join(dir, 'missing.crt'), cluster_cert_key: pair.key }),
    /cluster_cert: cannot read/,
  )
  assert.throws(
    () => loadClusterIdentity({ ...base, cluster_cert: 'nonsense', cluster_cert_key: pair.key }),
    /cluster_cert/,
  )
  assert.throws(
    () =>
      loadClusterIdentity(
        { ...base, cluster_cert: pair.cert, cluster_cert_key: pair.key },
        Date.now() + 20 * 86_400_000,
      ),
    /cluster_cert expired/,
  )
  assert.throws(
    () => loadClusterIdentity({ ...base, cluster_mtls: 'pki', cluster_cert: pair.cert, cluster_cert_key: pair.key }),
    /cluster_mtls=pki needs cluster_ca_cert/,
  )
})

test('the control plane checks a data plane certificate: shared pins it, pki allow-lists common names', () => {
  const pair = generateSelfSigned('turnpike_clustering', 10)
  const shared = loadClusterIdentity({ ...base, cluster_cert: pair.cert, cluster_cert_key: pair.key })!
  const peer = (fingerprint256: string, cn: string) =>
    ({
      raw: Buffer.from('x'),
      fingerprint256,
      subject: { CN: cn },
      valid_to: 'Jan  1 00:00:00 2100 GMT',
    }) as unknown as PeerCertificate
  assert.deepEqual(checkDataPlanePeer(shared, peer(shared.fingerprint, 'turnpike_clustering')), {
    ok: true,
    commonName: 'turnpike_clustering',
    expiry: Date.parse('2100-01-01T00:00:00Z') / 1000,
  })
  assert.match(
    String((checkDataPlanePeer(shared, peer('AA:BB', 'turnpike_clustering')) as { reason: string }).reason),
    /not the shared/,
  )
  assert.equal(checkDataPlanePeer(shared, undefined).ok, false)
  const pki = { ...shared, mode: 'pki' as const, allowedCommonNames: ['dp-1'] }
  assert.equal(checkDataPlanePeer(pki, peer('AA:BB', 'dp-1')).ok, true)
  assert.match(
    String((checkDataPlanePeer(pki, peer('AA:BB', 'dp-2')) as { reason: string }).reason),
    /not in cluster_allowed_common_names/,
  )
})
