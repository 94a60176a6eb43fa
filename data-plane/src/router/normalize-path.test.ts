import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { normalizePath } from './normalize-path.ts'

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
    ['/a%20b', '/a%20b'],
    ['/caf%c3%a9', '/caf%C3%A9'],
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

  it('returns the very same string when there is nothing to normalize', () => {
    const path = '/api/v1/users/42'
    assert.equal(normalizePath(path), path)
  })
})
