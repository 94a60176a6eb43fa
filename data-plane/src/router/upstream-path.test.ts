import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { upstreamPath, upstreamPathV1 } from './upstream-path.ts'

// Kong's path_handling v0 joins (kong/router/utils.lua get_upstream_uri):
// [service path, route prefix, strip_path, request path, expected upstream path]
const CASES: [string, string, boolean, string, string][] = [
  ['/', '/', true, '/', '/'],
  ['/', '/', true, '/foo/bar', '/foo/bar'],
  ['/', '/', true, '/foo/bar/', '/foo/bar/'],
  ['/', '/foo/bar', true, '/foo/bar', '/'],
  ['/', '/foo/bar', true, '/foo/bar/', '/'],
  ['/', '/foo/bar/', true, '/foo/bar/', '/'],
  ['/', '/foo', true, '/foobar', '/bar'],
  ['/fee/bor', '/', true, '/', '/fee/bor'],
  ['/fee/bor', '/', true, '/foo/bar', '/fee/bor/foo/bar'],
  ['/fee/bor', '/', true, '/foo/bar/', '/fee/bor/foo/bar/'],
  ['/fee/bor', '/foo/bar', true, '/foo/bar', '/fee/bor'],
  ['/fee/bor', '/foo/bar', true, '/foo/bar/', '/fee/bor/'],
  ['/fee/bor', '/foo/bar/', true, '/foo/bar/', '/fee/bor/'],
  ['/fee/bor', '/foo', true, '/foobar', '/fee/bor/bar'],
  ['/fee/bor', '/foo', true, '/foo/bar/baz', '/fee/bor/bar/baz'],
  ['/fee/bor/', '/', true, '/', '/fee/bor/'],
  ['/fee/bor/', '/', true, '/foo/bar', '/fee/bor/foo/bar'],
  ['/fee/bor/', '/foo/bar', true, '/foo/bar', '/fee/bor'],
  ['/fee/bor/', '/foo/bar', true, '/foo/bar/', '/fee/bor/'],
  ['/fee/bor/', '/foo/bar', true, '/foo/bar/baz', '/fee/bor/baz'],
  ['/fee/bor/', '/foo', true, '/foobar', '/fee/bor/bar'],
  ['/', '/', false, '/', '/'],
  ['/', '/', false, '/foo/bar', '/foo/bar'],
  ['/', '/foo/bar', false, '/foo/bar', '/foo/bar'],
  ['/fee/bor', '/', false, '/', '/fee/bor'],
  ['/fee/bor', '/', false, '/foo/bar', '/fee/bor/foo/bar'],
  ['/fee/bor', '/foo/bar', false, '/foo/bar', '/fee/bor/foo/bar'],
  ['/fee/bor/', '/', false, '/', '/fee/bor/'],
  ['/fee/bor/', '/foo/bar', false, '/foo/bar/', '/fee/bor/foo/bar/'],
]

describe('upstreamPath (path_handling v0)', () => {
  for (const [base, prefix, strip, path, expected] of CASES) {
    it(`service ${base}, route ${prefix}, strip_path=${strip}: ${path} → ${expected}`, () => {
      assert.equal(upstreamPath(path, prefix, strip, base), expected)
    })
  }

  it('drops a leading dot segment left over after stripping', () => {
    assert.equal(upstreamPath('/foo./bar', '/foo', true, '/svc'), '/svc/bar')
  })

  it('a route without paths strips nothing', () => {
    assert.equal(upstreamPath('/a/b', undefined, true, '/svc'), '/svc/a/b')
    assert.equal(upstreamPath('/a/b', undefined, true, '/'), '/a/b')
  })
})

// Kong's path_handling v1 rows (spec/fixtures/router_path_handling_tests.lua, traditional router):
// [service path, route prefix, strip_path, request path, expected upstream path]
const V1_CASES: [string, string | undefined, boolean, string, string][] = [
  ['/', '/', true, '/', '/'],
  ['/', '/', true, '/foo/bar/', '/foo/bar/'],
  ['/', '/foo/bar', true, '/foo/bar/', '/'],
  ['/fee/bor', '/', true, '/', '/fee/bor'],
  ['/fee/bor', '/', true, '/foo/bar', '/fee/borfoo/bar'],
  ['/fee/bor', '/', true, '/foo/bar/', '/fee/borfoo/bar/'],
  ['/fee/bor', '/foo/bar', true, '/foo/bar/', '/fee/bor/'],
  ['/fee/bor', '/foo/bar/', true, '/foo/bar/', '/fee/bor'],
  ['/fee/bor/', '/', true, '/', '/fee/bor/'],
  ['/fee/bor/', '/foo/bar', true, '/foo/bar', '/fee/bor/'],
  ['/fee/bor/', '/foo/bar/', true, '/foo/bar/', '/fee/bor/'],
  ['/fee', '/foo', true, '/foobar', '/feebar'],
  ['/fee/', '/foo', true, '/foo', '/fee/'],
  ['/fee/bor', '/foo/bar', true, '/foo/bars', '/fee/bors'],
  ['/fee/bor', '/foo/bar/', true, '/foo/bar/s', '/fee/bors'],
  ['/fee/bor/', '/foo/bar', true, '/foo/bars', '/fee/bor/s'],
  ['/', '/foo/bar', false, '/foo/bar/', '/foo/bar/'],
  ['/fee/bor', '/', false, '/', '/fee/bor'],
  ['/fee/bor', '/foo/bar', false, '/foo/bar', '/fee/borfoo/bar'],
  ['/fee/bor', '/foo/bar/', false, '/foo/bar/s', '/fee/borfoo/bar/s'],
  ['/fee/bor/', '/foo/bar', false, '/foo/bar/', '/fee/bor/foo/bar/'],
  ['/fee/bor', undefined, false, '/foo/bar', '/fee/borfoo/bar'],
  ['/fee/bor/', undefined, true, '/foo/bar/', '/fee/bor/foo/bar/'],
]

describe('upstreamPathV1 (path_handling v1)', () => {
  for (const [base, prefix, strip, path, expected] of V1_CASES) {
    it(`service ${base}, route ${prefix}, strip_path=${strip}: ${path} → ${expected}`, () => {
      assert.equal(upstreamPathV1(path, prefix, strip, base), expected)
    })
  }
})
