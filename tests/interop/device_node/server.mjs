// oidc-provider with the device flow (RFC 8628) and its dev interactions (login + consent pages),
// for tests/interop/test_device_oidc_provider.py (and a code-flow client, for
// test_inspect_oidc_provider.py). It listens on a free loopback port and prints {"issuer": ...}
// on its first line of stdout once it is ready.
//
// Two switches for the tests, both things RFC 8628 leaves to the server:
//   DEVICE_INTERVAL=n        the interval the device authorization response names (default 5 s)
//   DEVICE_SLOW_DOWN_FIRST=1 the first poll of each device code is answered slow_down (§3.5), as
//                            a busy server may do; oidc-provider itself never sends slow_down
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const RESOURCE = 'https://api.device.test';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const interval = Number(process.env.DEVICE_INTERVAL || 0);
const slowDownFirst = process.env.DEVICE_SLOW_DOWN_FIRST === '1';

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: [
      {
        // tests/interop/test_inspect_oidc_provider.py: `valetkey token get --inspect` (a native
        // app: a loopback redirect URI on any port, RFC 8252 §7.3)
        client_id: 'inspect-cli',
        application_type: 'native',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
        token_endpoint_auth_method: 'none',
        scope: 'openid read',
      },
      {
        client_id: 'device-cli',
        grant_types: [DEVICE, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'none',
        scope: 'openid offline_access read write',
      },
      {
        client_id: 'device-web',
        client_secret: process.env.DEVICE_WEB_SECRET,
        grant_types: [DEVICE, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'openid offline_access read write',
      },
    ],
    jwks: { keys: [{ ...jwk, kid: 'device-es256', alg: 'ES256', use: 'sig' }] },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && code.scopes.has('offline_access'),
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => ({
          scope: 'read write',
          audience: indicator,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  const polled = new Set();
  provider.use(async (ctx, next) => {
    if (slowDownFirst && ctx.method === 'POST' && ctx.path === '/token') {
      ctx.req.body = await readBody(ctx); // read here: oidc-provider then parses this string
      const form = new URLSearchParams(ctx.req.body);
      if (form.get('grant_type') === DEVICE && !polled.has(form.get('device_code'))) {
        polled.add(form.get('device_code'));
        ctx.status = 400;
        ctx.body = { error: 'slow_down', error_description: 'the test peer says: poll less often' };
        return;
      }
    }
    await next();
    if (interval && ctx.oidc?.route === 'device_authorization' && ctx.status === 200) {
      ctx.body = { ...ctx.body, interval };
    }
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, resource: RESOURCE })}\n`);
});

async function readBody(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}
