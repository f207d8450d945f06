import { TOKEN_EXCHANGE_GRANT } from '../../shared/protocol.js'

/** The grant types of the token endpoint (RFC 6749, RFC 8628, RFC 8693), as discovery lists them. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
export const GRANT_TYPES = ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT, 'client_credentials']
