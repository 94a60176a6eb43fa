import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { escapePath, normalizePath, toByteString } from './normalize-path.ts'

describe('normalizePath', () => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['/file.json', '/file.json'],
    ['/%7Efoo', '/~foo'],
    ['/%7efoo', '/~foo'],
    ['/%41%62c', '/Abc'],
    ['/a%2fb', '/a%2Fb'],
    ['/a%20b', '/a b'],
    ['/caf%c3%a9', '/caf\xC3\xA9'],
    ['/a%3fb%23c%25d', '/a%3Fb%23c%25d'],
    ['/%22q%22', '/"q"'],
    ['/a/./b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/..', '/'],
    ['/../../a', '/a'],
    ['//a///b', '/a/b'],
    ['/a//', '/a/'],
    ['/%2e%2e/etc/passwd', '/etc/passwd'],
    ['/a/%2E/b', '/a/b'],
    ['/.well-known/x', '/.well-known/x'],
    ['/..%2f', '/..%2F'],
    ['/%zz/a', '/%zz/a'],
    ['/a%2', '/a%2'],
  ]
  for (const [input, expected] of cases) {
    it(`${input} → ${expected}`, () => assert.equal(normalizePath(input), expected))
  }

  it('escapes decoded bytes again for the upstream, keeping what Kong keeps', () => {
    assert.equal(escapePath(normalizePath('/a%20b/caf%c3%a9')), '/a%20b/caf%C3%A9')
    assert.equal(escapePath('/a"b<c>'), '/a%22b%3Cc%3E')
    assert.equal(escapePath("/a-b_c.d~e/f!$&'()*+,;=:@[]%2F"), "/a-b_c.d~e/f!$&'()*+,;=:@[]%2F")
    assert.equal(escapePath(toByteString('/café')), '/caf%C3%A9')
  })

  it('reads configured UTF-8 text as the bytes a request carries', () => {
    assert.equal(toByteString('/café'), normalizePath('/caf%C3%A9'))
    assert.equal(toByteString('/plain'), '/plain')
  })

  it('returns the very same string when there is nothing to normalize', () => {
    const path = '/api/v1/users/42'
    assert.equal(normalizePath(path), path)
  })
})
