// oauth4webapi on the other side of valetkey's DPoP (tests/client/test_dpop_interop.py).
// Reads one JSON object on stdin and prints one on stdout; nothing goes to the network.
//   make:   {token_url, resource_url, access_token, token_refusal, resource_refusal}
//           -> the proofs oauth4webapi sends when the servers answer first with valetkey's
//              use_dpop_nonce refusals (status, headers, body), then with success
//   verify: {issuer, jwks, audience, url, method, authorization, dpop}  -> its verdict
import * as oauth from 'oauth4webapi';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

async function make({ token_url, resource_url, access_token, token_refusal, resource_refusal }) {
  const keyPair = await oauth.generateKeyPair('ES256');
  const client = { client_id: 'node' };
  const dpop = oauth.DPoP(client, keyPair);
  const as = { issuer: new URL(token_url).origin, token_endpoint: token_url };
  const proofs = [];
  // Stands in for the servers: keeps each proof and gives the answer it is told to.
  const answer = ({ status, headers, body }) => async (url, options) => {
    proofs.push({ url: String(url), method: options.method, proof: new Headers(options.headers).get('dpop') });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  };
  const ok = { status: 200, headers: {}, body: { access_token, token_type: 'DPoP', expires_in: 60 } };
  const token = (reply) => oauth.clientCredentialsGrantRequest(as, client, oauth.None(), new URLSearchParams(), {
    DPoP: dpop, [oauth.customFetch]: answer(reply),
  }).then((response) => oauth.processClientCredentialsResponse(as, client, response));
  const resource = (reply) => oauth.protectedResourceRequest(access_token, 'GET', new URL(resource_url), new Headers(), null, {
    DPoP: dpop, [oauth.customFetch]: answer(reply),
  });
  const asked = [];
  for (const [call, refusal] of [[token, token_refusal], [resource, resource_refusal]]) {
    try {
      await call(refusal);
      asked.push(false);
    } catch (err) {
      asked.push(oauth.isDPoPNonceError(err));
    }
    await call(ok);
  }
  return { proofs, asked, jkt: await dpop.calculateThumbprint() };
}

async function verify({ issuer, jwks, audience, url, method, authorization, dpop }) {
  const request = new Request(url, { method, headers: { authorization, dpop } });
  try {
    const claims = await oauth.validateJwtAccessToken({ issuer, jwks_uri: `${issuer}/jwks.json` }, request, audience, {
      requireDPoP: true,
      [oauth.customFetch]: async () => new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } }),
    });
    return { ok: true, claims };
  } catch (err) {
    return { ok: false, error: err.message, code: err.code };
  }
}

const run = { make, verify }[process.argv[2]];
process.stdout.write(JSON.stringify(await run(input)));
