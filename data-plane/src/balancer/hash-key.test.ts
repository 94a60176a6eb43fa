import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hashKey } from './hash-key.ts'
import { hashInput, upstreamRow } from './testing/fixtures.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('hash key', () => {
  it('reads what hash_on names', () => {
    const input = hashInput({
      consumer: 'c-1',
      ip: '10.1.2.3',
      headers: { 'x-user': 'alice,bob' },
      cookies: { sid: 'abc' },
      path: '/orders/7',
      query: { tenant: 't9' },
      captures: { id: '7' },
    })
    const cases: [Parameters<typeof upstreamRow>[0], string][] = [
      [{ hash_on: 'consumer' }, 'c-1'],
      [{ hash_on: 'ip' }, '10.1.2.3'],
      [{ hash_on: 'header', hash_on_header: 'X-User' }, 'alice,bob'],
      [{ hash_on: 'cookie', hash_on_cookie: 'sid' }, 'abc'],
      [{ hash_on: 'path' }, '/orders/7'],
      [{ hash_on: 'query_arg', hash_on_query_arg: 'tenant' }, 't9'],
      [{ hash_on: 'uri_capture', hash_on_uri_capture: 'id' }, '7'],
    ]
    for (const [patch, want] of cases)
      assert.deepEqual(hashKey(upstreamRow(patch), input), { value: want, setCookie: undefined }, patch?.hash_on)
  })

  it('falls back when the primary finds nothing, with the fallback fields', () => {
    const input = hashInput({ ip: '10.9.9.9', headers: { 'x-b': 'beta' }, query: { q: 'qq' }, captures: { c: 'cc' } })
    const row = (patch: Parameters<typeof upstreamRow>[0]) => upstreamRow({ hash_on: 'consumer', ...patch })
    assert.equal(hashKey(row({ hash_fallback: 'ip' }), input)?.value, '10.9.9.9')
    assert.equal(
      hashKey(
        row({ hash_on: 'header', hash_on_header: 'x-a', hash_fallback: 'header', hash_fallback_header: 'x-b' }),
        input,
      )?.value,
      'beta',
    )
    assert.equal(hashKey(row({ hash_fallback: 'query_arg', hash_fallback_query_arg: 'q' }), input)?.value, 'qq')
    assert.equal(hashKey(row({ hash_fallback: 'uri_capture', hash_fallback_uri_capture: 'c' }), input)?.value, 'cc')
    assert.equal(hashKey(row({ hash_fallback: 'none' }), input), undefined)
    assert.equal(hashKey(upstreamRow(), input), undefined, 'hash_on none hashes nothing')
  })

  it('generates a cookie when the request has none, and hashes the one it has', () => {
    const row = upstreamRow({ hash_on: 'cookie', hash_on_cookie: 'sticky' })
    const fresh = hashKey(row, hashInput({}))
    assert.ok(fresh)
    assert.match(fresh.value, UUID)
    assert.equal(fresh.setCookie, fresh.value)
    assert.notEqual(hashKey(row, hashInput({}))?.value, fresh.value, 'a new value per cookie-less request')
    assert.deepEqual(hashKey(row, hashInput({ cookies: { sticky: fresh.value } })), {
      value: fresh.value,
      setCookie: undefined,
    })
    // As a fallback too.
    const fallback = upstreamRow({ hash_on: 'consumer', hash_fallback: 'cookie', hash_on_cookie: 'sticky' })
    assert.match(hashKey(fallback, hashInput({}))?.setCookie ?? '', UUID)
    assert.equal(hashKey(fallback, hashInput({ consumer: 'c' }))?.setCookie, undefined)
  })
})
