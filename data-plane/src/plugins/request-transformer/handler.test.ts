import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'
import { compileTemplate } from './template.ts'

describe('request-transformer', () => {
  it('compiles templates and refuses Lua it cannot evaluate', () => {
    assert.equal(compileTemplate('plain'), 'plain')
    assert.deepEqual(compileTemplate('v=$(headers["x-a"] or "none")!'), [
      'v=',
      { source: 'headers', key: 'x-a', fallback: 'none' },
      '!',
    ])
    assert.throws(() => compileTemplate('$(os.exit())'), /unsupported/)
  })

  let h: Harness
  before(async () => {
    h = await startHarness()
    const route = routeRow(h.serviceId, { paths: ['~/t/(?<item>\\w+)$'] })
    await h.publish({
      routes: [route],
      plugins: [
        row('plugins', {
          name: 'request-transformer',
          route: { id: route.id },
          config: {
            remove: { headers: ['x-drop'], querystring: ['drop'], body: ['secret'] },
            rename: { headers: ['x-old:x-new'], querystring: ['old:new'] },
            replace: { headers: ['x-rep:replaced'], uri: '/items/$(uri_captures.item)' },
            add: {
              headers: ['x-item:$(uri_captures.item)', 'x-from-q:$(query_params.q)'],
              querystring: ['added:1'],
              body: ['extra:yes'],
            },
            append: { headers: ['x-multi:two'] },
          },
        }),
      ],
    })
  })
  after(() => h.close())

  it('rewrites headers, query, URI and JSON body', async () => {
    const r = await h.call('/t/42?drop=1&old=v&q=hello', {
      method: 'POST',
      headers: { 'x-drop': '1', 'x-old': 'o', 'x-rep': 'r', 'x-multi': 'one', 'content-type': 'application/json' },
      body: JSON.stringify({ secret: 's', keep: 1 }),
    })
    assert.equal(r.status, 200, r.body)
    const up = r.upstream!
    assert.equal(up.url, '/items/42?q=hello&new=v&added=1')
    assert.equal(up.headers['x-drop'], undefined)
    assert.equal(up.headers['x-old'], undefined)
    assert.equal(up.headers['x-new'], 'o')
    assert.equal(up.headers['x-rep'], 'replaced')
    assert.equal(up.headers['x-item'], '42')
    assert.equal(up.headers['x-from-q'], 'hello')
    assert.equal(up.headers['x-multi'], 'one, two')
    assert.deepEqual(JSON.parse(up.body), { keep: 1, extra: 'yes' })
  })
})
