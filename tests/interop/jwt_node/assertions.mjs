// Client assertions made by oauth4webapi and openid-client for valetkey's core rules to judge
// (tests/interop/test_client_assertion_libraries.py). Reads {issuer, token_endpoint, client_id,
// secret, algs} on stdin; prints the assertions each library sent; nothing goes to the network.
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));
const { issuer, token_endpoint, client_id, secret, algs } = input;
const as = { issuer, token_endpoint };
const sent = [];
// Stands in for the token endpoint: keeps the body and answers with a token.
const capture = async (url, options) => {
  sent.push(Object.fromEntries(new URLSearchParams(String(options.body))));
  return new Response(JSON.stringify({ access_token: 'at', token_type: 'bearer' }), {
    status: 200, headers: { 'content-type': 'application/json' },
  });
};

async function viaOauth4webapi(auth) {
  const response = await oauth.clientCredentialsGrantRequest(as, { client_id }, auth, new URLSearchParams({ scope: 'read' }), {
    [oauth.customFetch]: capture,
  });
  await oauth.processClientCredentialsResponse(as, { client_id }, response);
  return sent.at(-1);
}

async function viaOpenidClient(auth) {
  const config = new client.Configuration(as, client_id, undefined, auth);
  config[client.customFetch] = capture;
  await client.clientCredentialsGrant(config, { scope: 'read' });
  return sent.at(-1);
}

const out = [];
for (const alg of algs) {
  const { privateKey, publicKey } = await oauth.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid: `node-${alg}`, alg };
  const key = { key: privateKey, kid: jwk.kid };
  out.push({ library: 'oauth4webapi', method: 'private_key_jwt', alg, jwks: { keys: [jwk] }, body: await viaOauth4webapi(oauth.PrivateKeyJwt(key)) });
  out.push({ library: 'openid-client', method: 'private_key_jwt', alg, jwks: { keys: [jwk] }, body: await viaOpenidClient(client.PrivateKeyJwt(key)) });
}
out.push({ library: 'oauth4webapi', method: 'client_secret_jwt', alg: 'HS256', body: await viaOauth4webapi(oauth.ClientSecretJwt(secret)) });
out.push({ library: 'openid-client', method: 'client_secret_jwt', alg: 'HS256', body: await viaOpenidClient(client.ClientSecretJwt(secret)) });
process.stdout.write(JSON.stringify(out));
