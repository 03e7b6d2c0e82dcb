// oauth4webapi and openid-client (npm) against a real `valetkey serve`, for
// tests/interop/test_dpop_par_libraries.py: a pushed authorization request (RFC 9126) with a DPoP
// key (RFC 9449), the code exchanged for a DPoP-bound token, the demo API called with it, a
// refresh, and client credentials, all through the library's own calls.
//
// usage: node clients.mjs LIBRARY FLOW   (LIBRARY: oauth4webapi | openid-client; FLOW: code | cc)
// stdin, one JSON object a line: first {issuer, client_id, client_secret?, private_jwk?,
// redirect_uri, scope, api} (private_jwk: the client authenticates with private_key_jwt, RFC 7523
// section 2.2, signing with that EC P-256 key); for the code flow, later {"callback": URL} (the test plays the user's browser).
// stdout, one JSON object a line: {"authorize": URL} when the user's turn comes, then
// {"result": ...} or {"error": ..., "code": ...}. Every HTTP exchange is recorded in "exchanges".
import readline from 'node:readline';

import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

const [library, flow] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => JSON.parse((await lines.next()).value);
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

const exchanges = [];
function proofClaims(proof) {
  return proof ? JSON.parse(Buffer.from(proof.split('.')[1], 'base64url').toString()) : null;
}
// The network, recorded: what each request carried and how valetkey answered.
async function recording(url, options) {
  const response = await fetch(url, options);
  const headers = new Headers(options?.headers);
  let error = null;
  if (response.status >= 400) {
    error = await response.clone().json().then((body) => body.error, () => null);
    error ??= response.headers.get('www-authenticate');
  }
  exchanges.push({
    method: options?.method ?? 'GET',
    path: new URL(url).pathname,
    status: response.status,
    scheme: (headers.get('authorization') ?? '').split(' ')[0],
    proof: proofClaims(headers.get('dpop')),
    error,
    nonce: response.headers.get('dpop-nonce'),
  });
  return response;
}

const pkce = async () => {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: await oauth.calculatePKCECodeChallenge(verifier) };
};

// private_key_jwt: the library's own assertion, signed with the key the test registered.
async function privateKey(jwk) {
  const key = await crypto.subtle.importKey(
    'jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return { key, kid: jwk.kid };
}

async function userTurn(url) {
  say({ authorize: url.href });
  return new URL((await next()).callback);
}

async function withOauth4webapi(input) {
  const issuer = new URL(input.issuer);
  const opts = { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: recording };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, opts));
  const c = { client_id: input.client_id };
  const auth = input.private_jwk
    ? oauth.PrivateKeyJwt(await privateKey(input.private_jwk))
    : input.client_secret ? oauth.ClientSecretBasic(input.client_secret) : oauth.None();
  const DPoP = oauth.DPoP(c, await oauth.generateKeyPair('ES256'));
  const call = { ...opts, DPoP };
  // oauth4webapi leaves the retry to the app: it throws on use_dpop_nonce, keeping the nonce.
  const retried = async (attempt) => {
    try {
      return await attempt();
    } catch (err) {
      if (!oauth.isDPoPNonceError(err)) throw err;
      return attempt();
    }
  };
  const out = { jkt: await DPoP.calculateThumbprint() };
  if (flow === 'code') {
    const { verifier, challenge } = await pkce();
    const state = oauth.generateRandomState();
    const params = new URLSearchParams({
      response_type: 'code', redirect_uri: input.redirect_uri, scope: input.scope, state,
      code_challenge: challenge, code_challenge_method: 'S256',
    });
    const pushed = await retried(async () => oauth.processPushedAuthorizationResponse(
      as, c, await oauth.pushedAuthorizationRequest(as, c, auth, params, call)));
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', c.client_id);
    url.searchParams.set('request_uri', pushed.request_uri);
    const answer = oauth.validateAuthResponse(as, c, await userTurn(url), state);
    out.tokens = await retried(async () => oauth.processAuthorizationCodeResponse(as, c,
      await oauth.authorizationCodeGrantRequest(as, c, auth, answer, input.redirect_uri, verifier, call)));
    out.refreshed = await retried(async () => oauth.processRefreshTokenResponse(as, c,
      await oauth.refreshTokenGrantRequest(as, c, auth, out.tokens.refresh_token, call)));
  } else {
    out.tokens = await retried(async () => oauth.processClientCredentialsResponse(as, c,
      await oauth.clientCredentialsGrantRequest(as, c, auth, new URLSearchParams({ scope: input.scope }), call)));
  }
  const latest = out.refreshed ?? out.tokens;
  if (input.scope.split(' ').includes('openid')) {
    const sub = oauth.getValidatedIdTokenClaims(out.tokens).sub;
    out.userinfo = await retried(async () => oauth.processUserInfoResponse(as, c, sub,
      await oauth.userInfoRequest(as, c, latest.access_token, call)));
  }
  const api = await retried(() => oauth.protectedResourceRequest(
    latest.access_token, 'GET', new URL(input.api), new Headers(), null, call));
  out.api = { status: api.status, body: await api.json() };
  return out;
}

async function withOpenidClient(input) {
  const auth = input.private_jwk
    ? client.PrivateKeyJwt(await privateKey(input.private_jwk))
    : input.client_secret ? client.ClientSecretBasic(input.client_secret) : client.None();
  const config = await client.discovery(new URL(input.issuer), input.client_id, undefined, auth, {
    execute: [client.allowInsecureRequests], // a loopback test server speaks plain http
    [client.customFetch]: recording,
  });
  config[client.customFetch] = recording;
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const out = { jkt: await DPoP.calculateThumbprint() };
  // openid-client answers use_dpop_nonce itself: one retry with the nonce it was given.
  if (flow === 'code') {
    const { verifier, challenge } = await pkce();
    const state = client.randomState();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: input.redirect_uri, scope: input.scope, state,
      code_challenge: challenge, code_challenge_method: 'S256',
    }, { DPoP });
    out.tokens = await client.authorizationCodeGrant(config, await userTurn(url), {
      pkceCodeVerifier: verifier, expectedState: state,
    }, undefined, { DPoP });
    out.refreshed = await client.refreshTokenGrant(config, out.tokens.refresh_token, undefined, { DPoP });
  } else {
    out.tokens = await client.clientCredentialsGrant(config, { scope: input.scope }, { DPoP });
  }
  const latest = out.refreshed ?? out.tokens;
  if (input.scope.split(' ').includes('openid')) {
    out.userinfo = await client.fetchUserInfo(config, latest.access_token, out.tokens.claims().sub, { DPoP });
  }
  const api = await client.fetchProtectedResource(config, latest.access_token, new URL(input.api), 'GET', undefined, undefined, { DPoP });
  out.api = { status: api.status, body: await api.json() };
  return out;
}

const input = await next();
try {
  const run = { oauth4webapi: withOauth4webapi, 'openid-client': withOpenidClient }[library];
  say({ result: await run(input), exchanges });
} catch (err) {
  say({ error: err.error ?? err.message, code: err.code, description: err.error_description, exchanges });
}
process.exit(0);
