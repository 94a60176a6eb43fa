import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Harness, routeRow, row, startHarness } from '../../pipeline/test-harness.ts'

describe('bot-detection', () => {
  let h: Harness
  before(async () => {
    h = await startHarness()
    const routes = ['/default', '/lists'].map((p) => routeRow(h.serviceId, { paths: [p] }))
    await h.publish({
      routes,
      plugins: [
        row('plugins', { name: 'bot-detection', route: { id: routes[0].id } }),
        row('plugins', {
          name: 'bot-detection',
          route: { id: routes[1].id },
          config: { allow: ['^Googlebot'], deny: ['^BadClient/'] },
        }),
      ],
    })
  })
  after(() => h.close())

  it('lets browsers and curl through and blocks known bots with 403', async () => {
    for (const ua of ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36', 'curl/8.5.0']) {
      assert.equal((await h.call('/default', { headers: { 'user-agent': ua } })).status, 200, ua)
    }
    for (const ua of [
      'Googlebot/2.1 (+http://www.google.com/bot.html)',
      'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
      'facebookexternalhit/1.1',
      'python-requests/2.31',
      'Scrapy/2.11 (+https://scrapy.org)',
    ]) {
      const r = await h.call('/default', { headers: { 'user-agent': ua } })
      assert.equal(r.status, 403, ua)
      assert.deepEqual(r.json, { message: 'Forbidden' })
    }
  })

  it('allow wins over the built-in list; deny adds to it', async () => {
    assert.equal((await h.call('/lists', { headers: { 'user-agent': 'Googlebot/2.1' } })).status, 200)
    assert.equal((await h.call('/lists', { headers: { 'user-agent': 'BadClient/1.0' } })).status, 403)
    assert.equal((await h.call('/lists', { headers: { 'user-agent': ['a', 'b'] } })).status, 400)
  })
})
