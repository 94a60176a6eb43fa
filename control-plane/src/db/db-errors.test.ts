import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { services } from '@turnpike/shared'
import { luaPretty, mapDbError } from './db-errors.ts'

describe('database error mapping', () => {
  it('renders keys the way Kong’s messages print Lua tables', () => {
    assert.equal(luaPretty({ name: 'x' }), '{name="x"}')
    assert.equal(luaPretty({ service: { id: 'a' }, key: 'k' }), '{key="k",service={id="a"}}')
    assert.equal(luaPretty({ port: 80, on: true, gone: null }), '{gone=null,on=true,port=80}')
    assert.equal(luaPretty({ 'x-y': 'z' }), '{["x-y"]="z"}')
  })

  it('treats connection failures as an unavailable database (503)', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ]) {
      const mapped = mapDbError(err, services, {})
      assert.equal(mapped?.status, 503, err.message)
      assert.equal(mapped?.code, 100)
    }
  })

  it('leaves unknown failures to the caller (a real 500)', () => {
    assert.equal(mapDbError(Object.assign(new Error('boom'), { code: 'XX000' }), services, {}), undefined)
  })
})
