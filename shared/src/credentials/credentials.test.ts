import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { basicauthCredentials } from '../entities/basicauth-credentials.ts'
import { keyauthCredentials } from '../entities/keyauth-credentials.ts'
import { generateKeyringSecret, hashApiKey, isHashedApiKey } from './api-key-hash.ts'
import { hashCredentialFields, storedLookupValue } from './hash-fields.ts'
import { hashPassword, isHashedPassword, verifyPassword } from './password-hash.ts'

describe('API key hash', () => {
  it('is HMAC-SHA256 keyed by the keyring secret, base64url, with its prefix', () => {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert.equal(
      hashApiKey('Jefe', 'what do ya want for nothing?'),
      `hmac-sha256:${Buffer.from('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', 'hex').toString('base64url')}`,
    )
    assert.notEqual(hashApiKey('a', 'key'), hashApiKey('b', 'key'))
    assert.ok(isHashedApiKey(hashApiKey('s', 'k')))
    assert.ok(!isHashedApiKey('hmac-sha256:short'))
    assert.ok(!isHashedApiKey(42))
    assert.match(generateKeyringSecret(), /^[A-Za-z0-9_-]{43}$/)
  })
})

describe('password hash', () => {
  it('is salted scrypt in a self-describing format, verified in constant time', async () => {
    const a = await hashPassword('hunter2')
    const b = await hashPassword('hunter2')
    assert.match(a, /^scrypt:16384:8:1:[A-Za-z0-9+/]{22}==:[A-Za-z0-9+/]{43}=$/)
    assert.notEqual(a, b, 'fresh salt each time')
    assert.ok(await verifyPassword('hunter2', a))
    assert.ok(!(await verifyPassword('hunter3', a)))
    assert.ok(isHashedPassword(a))
  })
  it('refuses malformed hashes and costs beyond its caps', async () => {
    for (const bad of [
      '',
      'plain',
      'scrypt:16384:8:1:AA==',
      'scrypt:1048577:8:1:AAAA:AAAAAAAAAAAAAAAAAAAAAA==',
      'scrypt:3:8:1:AAAA:AAAAAAAAAAAAAAAAAAAAAA==',
    ]) {
      assert.ok(!isHashedPassword(bad), bad)
      assert.equal(await verifyPassword('x', bad), false)
    }
  })
})

describe('hashing an entity’s fields', () => {
  it('hashes plaintexts, keeps stored forms, reports what it hashed', async () => {
    const key = { key: 'plain' }
    assert.deepEqual(await hashCredentialFields(keyauthCredentials, key, 'sec'), { key: 'plain' })
    assert.equal(key.key, hashApiKey('sec', 'plain'))
    const again = { key: key.key }
    assert.deepEqual(await hashCredentialFields(keyauthCredentials, again, 'sec'), {})
    assert.equal(again.key, key.key)
    const basic = { password: 'pw' }
    await hashCredentialFields(basicauthCredentials, basic, '')
    assert.ok(await verifyPassword('pw', basic.password))
    assert.equal(storedLookupValue(keyauthCredentials, 'key', 'plain', 'sec'), key.key)
    assert.equal(storedLookupValue(basicauthCredentials, 'username', 'bob', 'sec'), 'bob')
  })
})
