/**
 * acl: lets the identified consumer through by its ACL groups (`allow`) or keeps it out (`deny`); the groups go
 * upstream in X-Consumer-Groups unless `hide_groups_header`. Must come after an auth plugin (lower priority).
 */
import type { AclConfig } from '@turnpike/shared'
import { IDENTITY_HEADERS } from '../../pipeline/context.ts'
import { defineHandler, type PluginContext, type PluginResponse } from '../../pipeline/types.ts'

export const DENIED = 'You cannot consume this service'

interface Compiled {
  conf: AclConfig
  groups: ReadonlySet<string>
  deny: boolean
}

/** true = blocked; otherwise the header value (groups joined), or '' when nothing is to be sent. */
function decide(c: Compiled, groups: readonly string[]): true | string {
  let inGroup = false
  for (const g of groups)
    if (c.groups.has(g)) {
      inGroup = true
      break
    }
  if (c.deny ? inGroup : !inGroup) return true
  return c.conf.hide_groups_header ? '' : groups.join(', ')
}

function forbidden(ctx: PluginContext): PluginResponse {
  return ctx.error(403, DENIED)
}

export const aclHandler = defineHandler<AclConfig, Compiled>({
  compile(conf) {
    const deny = conf.deny !== null && conf.deny.length > 0
    return { conf, groups: new Set((deny ? conf.deny : conf.allow) ?? []), deny }
  },
  access(ctx, c) {
    const consumer = ctx.consumer
    let groups: readonly string[] | undefined
    let header: string = IDENTITY_HEADERS.consumerGroups
    if (consumer === undefined) {
      groups = ctx.authenticatedGroups
      if (groups === undefined) return ctx.credential ? forbidden(ctx) : ctx.error(401)
      header = IDENTITY_HEADERS.authenticatedGroups
    } else {
      // Groups vouched for by the auth plugin override an anonymous consumer's own.
      if ((ctx.credential === undefined || c.conf.always_use_authenticated_groups) && ctx.authenticatedGroups) {
        groups = ctx.authenticatedGroups
        header = IDENTITY_HEADERS.authenticatedGroups
      } else {
        groups = ctx.consumers.groups(consumer.id)
        if (groups.length === 0 && !c.deny) return ctx.credential ? forbidden(ctx) : ctx.error(401)
      }
    }
    const verdict = decide(c, groups)
    if (verdict === true) return forbidden(ctx)
    if (verdict !== '') ctx.upstream.setHeader(header, verdict)
    return undefined
  },
})
