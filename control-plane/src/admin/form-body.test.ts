import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { routes, services } from '@turnpike/shared'
import { decodeForm, parseFormKey } from './form-body.ts'

describe('form keys', () => {
  it('split dotted and bracketed paths', () => {
    assert.deepEqual(parseFormKey('hosts[]'), ['hosts', ''])
    assert.deepEqual(parseFormKey('config.minute'), ['config', 'minute'])
    assert.deepEqual(parseFormKey('a[1][b].c'), ['a', '1', 'b', 'c'])
    assert.deepEqual(parseFormKey('service.id'), ['service', 'id'])
  })
})

describe('form decoding', () => {
  it('builds lists from [], repeated keys, bare values and (1-based) indexes', () => {
    const input = decodeForm(routes, [
      ['hosts[]', 'a.test'],
      ['hosts[]', 'b.test'],
      ['paths', '/x'],
      ['methods[2]', 'POST'],
      ['methods[1]', 'GET'],
      ['snis', 'one.test'],
      ['snis', 'two.test'],
    ])
    assert.deepEqual(input, {
      hosts: ['a.test', 'b.test'],
      paths: ['/x'],
      methods: ['GET', 'POST'],
      snis: ['one.test', 'two.test'],
    })
  })

  it('coerces numbers and booleans by the field definition, and leaves bad ones for validation', () => {
    assert.deepEqual(
      decodeForm(services, [
        ['port', '8080'],
        ['enabled', 'false'],
        ['retries', 'x'],
        ['host', '10'],
      ]),
      {
        port: 8080,
        enabled: false,
        retries: 'x',
        host: '10',
      },
    )
  })

  it('nests records, maps and foreign keys; an empty value is null', () => {
    assert.deepEqual(
      decodeForm(routes, [
        ['service.id', 'abc'],
        ['headers.x-a', 'one'],
        ['headers.x-a', 'two'],
        ['sources[1].ip', '10.0.0.1'],
        ['sources[1].port', '80'],
        ['name', ''],
      ]),
      {
        service: { id: 'abc' },
        headers: { 'x-a': ['one', 'two'] },
        sources: [{ ip: '10.0.0.1', port: 80 }],
        name: null,
      },
    )
  })

  it('ignores keys that would reach object prototypes', () => {
    const input = decodeForm(services, [
      ['__proto__[host]', 'evil'],
      ['constructor.prototype.x', '1'],
    ])
    assert.deepEqual(input, {})
    assert.equal(({} as Record<string, unknown>).host, undefined)
  })
})
