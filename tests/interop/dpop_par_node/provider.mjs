// oidc-provider (npm) with DPoP (RFC 9449) requiring its nonce everywhere it checks a proof (token
// endpoint, PAR, userinfo) and pushed authorization requests (RFC 9126), as the authorization
// server for valetkey's CLI (tests/interop/test_dpop_par_cli.py). Loopback only; exits with its
// parent (when stdin ends).
//   node provider.mjs <port> <redirect_uri>
// env: SVC_SECRET  the secret of the client-credentials client
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirect = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'dpop-cli',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirect],
      scope: 'openid offline_access read',
    },
    {
      client_id: 'par-only',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [redirect],
      scope: 'openid read',
      require_pushed_authorization_requests: true,
    },
    {
      client_id: 'dpop-svc',
      client_secret: process.env.SVC_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'read',
    },
  ],
  jwks: { keys: [{ ...signing, kid: 'as-es256', alg: 'ES256', use: 'sig' }] },
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  scopes: ['openid', 'offline_access', 'read'],
  cookies: { keys: [randomBytes(32).toString('hex')] },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    pushedAuthorizationRequests: { enabled: true },
  },
});
// Every refusal is printed so a failing test shows why oidc-provider said no; every request too,
// with whether it carried a DPoP proof, so a test can tell what valetkey's CLI sent.
provider.use(async (ctx, next) => {
  await next();
  console.log(JSON.stringify({
    method: ctx.method, path: ctx.path, status: ctx.status, dpop: Boolean(ctx.get('dpop')),
    error: ctx.body?.error ?? null,
  }));
});
for (const event of ['grant.error', 'pushed_authorization_request.error', 'userinfo.error', 'authorization.error']) {
  provider.on(event, (ctx, err) => console.error(event, err.error, err.error_description));
}
provider.listen(port, '127.0.0.1');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
