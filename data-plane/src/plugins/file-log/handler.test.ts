import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { closeFileLogs } from './handler.ts'

describe('file-log', () => {
  let h: Harness
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-file-log-'))
  const path = join(dir, 'access.log')
  before(async () => {
    h = await startHarness()
    const route = routeRow(h.serviceId, { name: 'logged', paths: ['/l'] })
    await h.publish({
      routes: [route],
      plugins: [row('plugins', { name: 'file-log', route: { id: route.id }, config: { path } })],
    })
  })
  after(async () => {
    closeFileLogs()
    await h.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('appends one JSON line per request, after the response', async () => {
    await h.call('/l/x?q=1', { headers: { authorization: 'Bearer secret' } })
    let lines: string[] = []
    for (let i = 0; i < 100 && lines.length < 1; i++) {
      await new Promise((r) => setTimeout(r, 10))
      try {
        lines = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean)
      } catch {}
    }
    const entry = JSON.parse(lines[0])
    assert.equal(entry.request.uri, '/l/x?q=1')
    assert.equal(entry.request.method, 'GET')
    assert.equal(entry.request.headers.authorization, 'REDACTED')
    assert.equal(entry.response.status, 200)
    assert.equal(entry.upstream_uri, '/x?q=1')
    assert.equal(entry.route.name, 'logged')
    assert.equal(entry.client_ip, '127.0.0.1')
    assert.ok(entry.latencies.request >= 0)
  })
})
