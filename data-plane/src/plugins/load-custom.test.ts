import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createLogger, pluginByName, validatePluginConfig } from '@turnpike/shared'
import { routeRow, row, startHarness } from '../pipeline/test-harness.ts'
import { handlerProblem, loadCustomPlugins } from './load-custom.ts'
import { handlerFor } from './registry.ts'

const EXAMPLES = fileURLToPath(new URL('../../../docs/examples/plugins', import.meta.url))

describe('custom plugins (plugins_dir)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'turnpike-custom-'))
  after(() => rmSync(scratch, { recursive: true, force: true }))

  it('loads the documented example: definition for validation, handler for the data plane', async () => {
    assert.deepEqual(await loadCustomPlugins(EXAMPLES, createLogger('silent')), ['tenant-guard'])
    assert.equal(pluginByName('tenant-guard')?.priority, 920)
    assert.ok(handlerFor('tenant-guard'))
    const ok = validatePluginConfig('tenant-guard', {})
    assert.ok(ok.ok)
    assert.equal(ok.value.header_name, 'X-Tenant')
    assert.deepEqual(validatePluginConfig('tenant-guard', { pattern: '(' }), {
      ok: false,
      errors: { config: { pattern: 'not a valid regex' } },
    })
  })

  it('runs it through the pipeline', async () => {
    const h = await startHarness({ plugins_dir: EXAMPLES })
    try {
      const route = routeRow(h.serviceId, { paths: ['/t'] })
      await h.publish({ routes: [route], plugins: [row('plugins', { name: 'tenant-guard', route: { id: route.id } })] })
      assert.deepEqual((await h.call('/t')).json, { message: 'X-Tenant header required' })
      assert.equal((await h.call('/t', { headers: { 'x-tenant': 'NOPE!' } })).status, 403)
      const ok = await h.call('/t', { headers: { 'x-tenant': 'acme' } })
      assert.equal(ok.status, 200)
      assert.equal(ok.upstream!.headers['x-tenant-id'], 'acme')
      assert.equal(ok.headers['x-tenant'], 'acme')
    } finally {
      await h.close()
    }
  })

  it('refuses handlers that do not match their definition, and misnamed definitions', async () => {
    assert.match(String(handlerProblem({ phases: ['access'] }, { log() {} })), /definition lists phase 'access'/)
    assert.match(String(handlerProblem({ phases: ['access'] }, { access() {}, log() {} })), /does not list phase 'log'/)
    const dir = join(scratch, 'bad')
    mkdirSync(join(dir, 'misnamed'), { recursive: true })
    writeFileSync(
      join(dir, 'misnamed', 'definition.ts'),
      "export const definition = { name: 'other', priority: 1, phases: ['access'], config: {}, protocols: { allowed: ['http'], default: ['http'] } }\n",
    )
    writeFileSync(join(dir, 'misnamed', 'handler.ts'), 'export const handler = { access() {} }\n')
    await assert.rejects(
      loadCustomPlugins(dir, createLogger('silent')),
      /its name 'other' differs from its folder 'misnamed'/,
    )
  })
})
