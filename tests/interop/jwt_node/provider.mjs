// oidc-provider as the authorization server for valetkey's client with JWT client authentication
// (tests/interop/test_client_assertion_oidc_provider.py). Loopback only; exits with its parent.
//   node provider.mjs <port> <redirect_uri>
// env: PKJWT_JWKS  the public JWK Set of the private_key_jwt client (valetkey's key)
//      SJWT_SECRET the secret of the client_secret_jwt client
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirect = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'pkjwt-cli',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: JSON.parse(process.env.PKJWT_JWKS),
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: [redirect],
      scope: 'openid offline_access read',
    },
    {
      client_id: 'sjwt-svc',
      token_endpoint_auth_method: 'client_secret_jwt',
      client_secret: process.env.SJWT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'read',
    },
  ],
  jwks: { keys: [{ ...signing, kid: 'as-es256', alg: 'ES256', use: 'sig' }] },
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  scopes: ['openid', 'offline_access', 'read'],
  cookies: { keys: ['valetkey-interop-cookie-key-0123456789'] },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
});
// Every refusal is printed so a failing test shows why oidc-provider said no.
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.error, err.error_description));
provider.on('revocation.error', (ctx, err) => console.error('revocation.error', err.error, err.error_description));
provider.listen(port, '127.0.0.1');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
