import { defineEntity } from '../schema/define.ts'

/** hmac-auth's `hmacauth_credentials` (Admin API `/hmac-auths`, nested `/consumers/{c}/hmac-auth`). */
export const hmacauthCredentials = defineEntity({
  name: 'hmacauth_credentials',
  admin_path: 'hmac-auths',
  nested_path: 'hmac-auth',
  endpoint_key: 'username',
  in_snapshot: true,
  fields: {
    consumer: { type: 'foreign', reference: 'consumers', required: true, on_delete: 'cascade' },
    username: { type: 'string', required: true, unique: true },
    // Generated when absent; kept in clear because verifying a signature needs it.
    secret: { type: 'string', auto: true },
  },
})
