// openid-client (npm) completing the device flow (RFC 8628), for tests/interop/test_device_*.py.
// usage: node client.mjs ISSUER CLIENT_ID SCOPE [RESOURCE]   (DEVICE_CLIENT_SECRET: Basic auth)
// Prints the device authorization response as one JSON line, polls as openid-client does
// (interval, +5 s on slow_down), then prints {"tokens": ...} or {"error": ..., "code": ...}.
import * as client from 'openid-client';

const [issuer, clientId, scope, resource] = process.argv.slice(2);
const secret = process.env.DEVICE_CLIENT_SECRET;
const config = await client.discovery(
  new URL(issuer),
  clientId,
  undefined,
  secret ? client.ClientSecretBasic(secret) : client.None(),
  { execute: [client.allowInsecureRequests] }, // a loopback test server speaks plain http
);
const parameters = { scope, ...(resource ? { resource } : {}) };
const started = Date.now();
const response = await client.initiateDeviceAuthorization(config, parameters);
process.stdout.write(`${JSON.stringify(response)}\n`);
try {
  const tokens = await client.pollDeviceAuthorizationGrant(config, response);
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ tokens, claims: tokens.claims() ?? null, seconds })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err.error ?? err.message, code: err.code })}\n`);
}
