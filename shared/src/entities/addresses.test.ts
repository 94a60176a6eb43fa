import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatHost, isIpOrCidr, normalizeIp } from './addresses.ts'

test('normalizeIp parses names, IPv4 and IPv6 with Kong messages', () => {
  assert.deepEqual(normalizeIp('example.com:8080'), {
    ok: true,
    address: { type: 'name', host: 'example.com', port: 8080 },
  })
  assert.deepEqual(normalizeIp('010.001.1.1'), { ok: true, address: { type: 'ipv4', host: '10.1.1.1' } })
  const v6 = normalizeIp('[::1]:80')
  assert.ok(v6.ok)
  assert.equal(formatHost(v6.address), '[0000:0000:0000:0000:0000:0000:0000:0001]:80')
  assert.deepEqual(normalizeIp('bad host'), { ok: false, error: 'invalid hostname: bad host' })
  assert.deepEqual(normalizeIp('256.1.1.1'), { ok: false, error: 'invalid ipv4 address: 256.1.1.1' })
  assert.deepEqual(normalizeIp('a.com:70000'), { ok: false, error: 'invalid port number' })
  assert.deepEqual(normalizeIp('a-.com'), { ok: false, error: 'invalid hostname: a-.com' })
})

test('isIpOrCidr accepts addresses and ranges of both families', () => {
  for (const ok of ['10.0.0.1', '10.0.0.0/8', '::1', '2001:db8::/32']) assert.ok(isIpOrCidr(ok), ok)
  for (const bad of ['10.0.0.0/33', '::/129', 'example.com', '10.0.0.0/x']) assert.ok(!isIpOrCidr(bad), bad)
})
