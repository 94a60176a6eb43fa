import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { ServiceRow } from '../runtime/entity-rows.ts'
import { guardedLookup, isForbiddenAddress } from './address-guard.ts'
import { peerFor, serviceSettings } from './peer.ts'

describe('SSRF guard', () => {
  it('forbids link-local and cloud metadata addresses, in every spelling', () => {
    for (const ip of [
      '169.254.169.254',
      '169.254.0.1',
      '100.100.100.200',
      'fe80::1',
      '[fe80::abcd]',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
    ])
      assert.equal(isForbiddenAddress(ip), true, ip)
    for (const ip of ['127.0.0.1', '10.0.0.1', '100.100.100.201', 'fd00:ec2::253', '::1', 'example.com'])
      assert.equal(isForbiddenAddress(ip), false, ip)
  })
  it('lets ordinary names resolve', async () => {
    const addresses = await new Promise<unknown>((resolve, reject) =>
      guardedLookup('localhost', { all: true }, (err, a) => (err ? reject(err) : resolve(a))),
    )
    assert.ok(Array.isArray(addresses) && addresses.length > 0)
  })
  it('marks literal metadata upstreams unless upstream_allow_link_local is on', () => {
    const service = { id: 's', host: '169.254.169.254', port: 80, protocol: 'http' } as ServiceRow
    const peer = (allow: boolean) => peerFor(serviceSettings(service, undefined, allow), service.host, service.port)
    assert.equal(peer(false).forbidden, true)
    assert.equal(peer(true).forbidden, false)
  })
})
