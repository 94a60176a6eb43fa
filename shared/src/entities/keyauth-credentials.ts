import { defineEntity } from '../schema/define.ts'

/** key-auth's `keyauth_credentials`: an API key of a consumer (Admin API `/key-auths`, nested `/consumers/{c}/key-auth`). */
export const keyauthCredentials = defineEntity({
  name: 'keyauth_credentials',
  admin_path: 'key-auths',
  endpoint_key: 'key',
  in_snapshot: true,
  ttl: true,
  fields: {
    consumer: { type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade' },
    // Generated when absent (auto-values.ts). Stored as a keyed hash (design §7), so not echoed after creation.
    key: { type: 'string', unique: true, auto: true, sensitive: true },
  },
})
