import { defineEntity } from '../schema/define.ts'
import { atLeastOneOf, entityChecks } from './checks.ts'

/** Kong's `consumers`: the identities credentials and consumer-scoped plugins attach to. */
export const consumers = defineEntity({
  name: 'consumers',
  admin_path: 'consumers',
  endpoint_key: 'username',
  in_snapshot: true,
  fields: {
    username: { type: 'string', unique: true },
    custom_id: { type: 'string', unique: true },
  },
  checks: [entityChecks(atLeastOneOf(['custom_id', 'username']))],
})
