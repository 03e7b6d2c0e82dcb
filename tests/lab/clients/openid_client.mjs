// openid-client (npm) run through `valetkey lab`: node openid_client.mjs ISSUER CLIENT_ID REDIRECT_URI
//
// The lab's client script with the library's defaults: discovery, the code flow with PKCE (the
// lab's /authorize redirects at once: the redirect is read, not followed), userinfo, then twice a
// refresh and userinfo with the new token. Two settings are the app's, not security checks: plain
// http on loopback (allowInsecureRequests) and a 5 s timeout. The library's own errors (and a
// timeout) are refusals, printed on one line; anything else is left uncaught (driver.mjs).
import * as client from 'openid-client'

import { callback, drive } from './driver.mjs'

const [issuer, clientId, redirectUri] = process.argv.slice(2)
const TIMEOUT = 5 // seconds
const REFUSALS = [
  client.ClientError,
  client.ResponseBodyError,
  client.AuthorizationResponseError,
  client.WWWAuthenticateChallengeError,
]

async function main() {
  const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
    timeout: TIMEOUT,
  })
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  let tokens = await client.authorizationCodeGrant(config, await callback(url, TIMEOUT * 1000), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  })
  const subject = tokens.claims().sub
  await client.fetchUserInfo(config, tokens.access_token, subject)
  let refreshToken = tokens.refresh_token
  for (let i = 0; i < 2; i++) {
    tokens = await client.refreshTokenGrant(config, refreshToken)
    refreshToken = tokens.refresh_token ?? refreshToken // RFC 6749 §6: kept when none comes back
    await client.fetchUserInfo(config, tokens.access_token, subject)
  }
}

await drive(main, REFUSALS)
