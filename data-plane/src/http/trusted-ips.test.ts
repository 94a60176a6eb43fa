import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { headerSwitches } from './header-switches.ts'
import { nextRequestId } from './request-id.ts'
import { compileTrustedIps } from './trusted-ips.ts'

describe('trusted_ips', () => {
  const trusted = compileTrustedIps(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::1'])
  it('matches IPv4 and IPv6 CIDRs and single addresses', () => {
    assert.equal(trusted.has('10.1.2.3'), true)
    assert.equal(trusted.has('11.0.0.1'), false)
    assert.equal(trusted.has('192.168.1.7'), true)
    assert.equal(trusted.has('192.168.1.8'), false)
    assert.equal(trusted.has('2001:db8:1::5'), true)
    assert.equal(trusted.has('2001:db9::1'), false)
    assert.equal(trusted.has('::1'), true)
  })
  it('treats IPv4-mapped IPv6 peers as IPv4', () => assert.equal(trusted.has('::ffff:10.9.9.9'), true))
  it('trusts nobody by default, and nothing without an address', () => {
    assert.equal(compileTrustedIps([]).has('127.0.0.1'), false)
    assert.equal(trusted.has(undefined), false)
  })
})

describe('headers settings', () => {
  it("expands Kong's group tokens", () => {
    const all = headerSwitches(['server_tokens', 'latency_tokens'], [])
    assert.deepEqual(
      [
        all.server,
        all.via,
        all.proxyLatency,
        all.upstreamLatency,
        all.responseLatency,
        all.requestId,
        all.upstreamStatus,
      ],
      [true, true, true, true, true, false, false],
    )
    const some = headerSwitches(['via', 'x-turnpike-upstream-status'], ['x-turnpike-request-id'])
    assert.deepEqual([some.server, some.via, some.upstreamStatus, some.upstreamRequestId], [false, true, true, true])
  })
})

describe('request ids', () => {
  it('are 32 hex characters and unique', () => {
    const ids = new Set(Array.from({ length: 10_000 }, nextRequestId))
    assert.equal(ids.size, 10_000)
    for (const id of [...ids].slice(0, 10)) assert.match(id, /^[0-9a-f]{32}$/)
  })
})
