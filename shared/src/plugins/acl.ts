import { atLeastOneOf, onlyOneOf } from '../entities/checks.ts'
import { flag, HTTP_ONLY, strings } from './common-fields.ts'
import { definePlugin } from './define.ts'

/** acl's validated config: exactly one of `allow` and `deny` is set. */
export interface AclConfig {
  allow: string[] | null
  deny: string[] | null
  hide_groups_header: boolean
  always_use_authenticated_groups: boolean
}

/** acl: allows or denies the authenticated consumer by its ACL groups. */
export const acl = definePlugin({
  name: 'acl',
  priority: 950,
  phases: ['access'],
  no_consumer: true,
  protocols: HTTP_ONLY,
  config: {
    allow: strings,
    deny: strings,
    hide_groups_header: flag(false),
    // Use groups set by the authenticating plugin even when a (non-anonymous) consumer is known.
    always_use_authenticated_groups: flag(false),
  },
  checks: [onlyOneOf(['config.allow', 'config.deny']), atLeastOneOf(['config.allow', 'config.deny'])],
})
