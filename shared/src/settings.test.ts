import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadSettings, parseListen } from './settings.ts'

test('defaults follow the role', () => {
  const s = loadSettings({ env: {} })
  assert.equal(s.role, 'traditional')
  assert.equal(s.database, 'pglite')
  assert.deepEqual(s.admin_listen, [{ host: '127.0.0.1', port: 8001, ssl: false, http2: false }])
  assert.equal(loadSettings({ env: { TURNPIKE_ROLE: 'data_plane' } }).database, 'off')
  assert.equal(loadSettings({ env: { TURNPIKE_ROLE: 'control_plane' } }).database, 'postgres')
})

test('listen syntax, including ssl flags, IPv6 and off', () => {
  assert.deepEqual(parseListen('0.0.0.0:8000, [::1]:8443 ssl http2'), [
    { host: '0.0.0.0', port: 8000, ssl: false, http2: false },
    { host: '::1', port: 8443, ssl: true, http2: true },
  ])
  assert.deepEqual(parseListen('off'), [])
  assert.throws(() => parseListen('nope', 'proxy_listen'), /proxy_listen/)
})

test('unknown settings and bad values name the setting', () => {
  assert.throws(() => loadSettings({ env: { TURNPIKE_PROXY_LSTEN: '1' } }), /unknown setting 'proxy_lsten'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_ROLE: 'boss' } }), /'role'.*expected one of/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_PG_PORT: '99999' } }), /'pg_port'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_ROLE: 'data_plane', TURNPIKE_DATABASE: 'postgres' } }), /database/)
})

test('config file, overridden by the environment', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tp-conf-')), 'turnpike.conf')
  writeFileSync(file, '# comment\nrole = control_plane\npg_host = db.internal   # trailing comment\n')
  const s = loadSettings({ file, env: { TURNPIKE_PG_HOST: 'other' } })
  assert.equal(s.role, 'control_plane')
  assert.equal(s.pg_host, 'other')
  writeFileSync(file, 'bogus = 1\n')
  assert.throws(() => loadSettings({ file, env: {} }), /unknown setting 'bogus'/)
})
