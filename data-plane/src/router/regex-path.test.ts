import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compileRegexPath, literalPrefix } from './regex-path.ts'

describe('literalPrefix', () => {
  const cases: [string, string][] = [
    ['/users/\\d+$', '/users/'],
    ['/rx42/items/\\d+$', '/rx42/items/'],
    ['\\/api\\/v1\\.0/x', '/api/v1.0/x'],
    ['/colou?r', '/colo'],
    ['/ab*c', '/a'],
    ['/ab+c', '/ab'],
    ['/a{2}', '/'],
    ['/v[12]/x', '/v'],
    ['/(?<id>\\d+)', '/'],
    ['/a.b', '/a'],
    ['/a|/b', ''],
    ['/(a|b)/c', '/'],
    ['/[a|b]/c', '/'],
    ['/plain', '/plain'],
    ['', ''],
  ]
  for (const [source, expected] of cases) {
    it(`${source} → '${expected}'`, () => assert.equal(literalPrefix(source), expected))
  }

  it('every path a regex matches starts with its literal prefix', () => {
    const samples: [string, string[]][] = [
      ['~/colou?r/\\d+', ['/color/1', '/colour/22']],
      ['~/ab*c', ['/ac', '/abbbc']],
      ['~^/v[12]/x', ['/v1/x', '/v2/x']],
      ['~/a|/b', ['/a', '/zzz/b']],
    ]
    for (const [path, matches] of samples) {
      const { regex, literalPrefix: prefix } = compileRegexPath(path)
      for (const m of matches) {
        assert.ok(regex.test(m), `${path} should match ${m}`)
        assert.ok(m.startsWith(prefix), `${m} should start with '${prefix}'`)
      }
    }
  })
})
