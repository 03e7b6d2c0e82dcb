// oidc-provider configured like valetkey's benchmark configuration (bench/config.py):
// ES256 JWT access tokens for the resource https://api.bench.test (RFC 8707 resource indicators,
// RFC 9068 format), a confidential client, a public PKCE client, a client-credentials service,
// refresh tokens, introspection, and the dev interactions (login + consent pages) driven over HTTP.
//
// usage: node server.mjs <port> <workers>   (workers > 1: a node:cluster of that many processes)
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 9300);
const workers = Number(process.argv[3] || 1);
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'https://api.bench.test';
const OPAQUE_RESOURCE = 'https://opaque.bench.test';
const REDIRECT = 'https://client.bench.test/callback';

function start(jwk) {
  const configuration = {
    clients: [
      {
        client_id: 'bench-web',
        client_secret: process.env.BENCH_WEB_SECRET,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'openid offline_access read write',
      },
      {
        client_id: 'bench-native',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        scope: 'openid offline_access read write',
      },
      {
        client_id: 'bench-service',
        client_secret: process.env.BENCH_SERVICE_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'read write',
      },
    ],
    jwks: { keys: [jwk] },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: [process.env.BENCH_COOKIE_KEY] },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    pkce: { required: () => true },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: { AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, RefreshToken: 1209600, Grant: 1209600, Session: 1209600, Interaction: 3600 },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async (ctx, client) => client.clientAuthMethod !== 'none' },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => ({
          scope: 'read write',
          audience: indicator,
          accessTokenTTL: 600,
          // JWT access tokens are not stored, so oidc-provider cannot introspect them: the
          // introspection workload uses tokens for this second, opaque-format resource.
          accessTokenFormat: indicator === OPAQUE_RESOURCE ? 'opaque' : 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.listen(port, '127.0.0.1');
}

if (workers > 1 && cluster.isPrimary) {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  for (let i = 0; i < workers; i += 1) cluster.fork({ BENCH_JWK: JSON.stringify({ ...jwk, kid: 'bench-es256', alg: 'ES256', use: 'sig' }) });
} else {
  const jwk = process.env.BENCH_JWK
    ? JSON.parse(process.env.BENCH_JWK)
    : { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };
  start(jwk);
}
