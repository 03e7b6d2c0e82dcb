// oidc-provider in its default configuration, with two clients registered for `valetkey audit`
// (tests/interop/test_audit_oidc_provider.py): a public one and a confidential one, both with the
// authorization code and refresh token grants, and its dev interactions (login + consent pages).
// AUDIT_WEB_SECRET is the confidential client's secret. It listens on a free loopback port and prints {"issuer": ...} on its first line once ready.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const REDIRECT = 'https://client.example/cb';
const GRANTS = ['authorization_code', 'refresh_token'];

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'audit-public',
        grant_types: GRANTS,
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
      },
      {
        client_id: 'audit-web',
        client_secret: process.env.AUDIT_WEB_SECRET,
        grant_types: GRANTS,
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...jwk, kid: 'audit-es256', alg: 'ES256', use: 'sig' }] },
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    // A refresh token for every code of a client allowed the grant (the default asks for the
    // offline_access scope and prompt=consent as well).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: { devInteractions: { enabled: true } },
    // AUDIT_CODE_TTL=n: codes live n seconds instead of the default 60, so the audit's
    // code.short_lived check (--code-wait) can run in a test
    ttl: { AuthorizationCode: Number(process.env.AUDIT_CODE_TTL || 60) },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
