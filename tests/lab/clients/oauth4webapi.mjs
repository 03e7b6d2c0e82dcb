// oauth4webapi (npm) run through `valetkey lab`: node oauth4webapi.mjs ISSUER CLIENT_ID REDIRECT_URI
//
// The lab's client script with the library's defaults: discovery, the code flow with PKCE (the
// lab's /authorize redirects at once: the redirect is read, not followed), userinfo, then twice a
// refresh and userinfo with the new token. Two settings are the app's, not security checks: plain
// http on loopback (allowInsecureRequests) and a 5 s timeout. The library's own errors (and a
// timeout) are refusals, printed on one line; anything else is left uncaught (driver.mjs).
import * as oauth from 'oauth4webapi'

import { callback, drive } from './driver.mjs'

const [issuer, clientId, redirectUri] = process.argv.slice(2)
const TIMEOUT = 5000 // milliseconds
const REFUSALS = [
  oauth.OperationProcessingError,
  oauth.ResponseBodyError,
  oauth.AuthorizationResponseError,
  oauth.WWWAuthenticateChallengeError,
  oauth.UnsupportedOperationError,
]
const options = () => ({ [oauth.allowInsecureRequests]: true, signal: AbortSignal.timeout(TIMEOUT) })

async function main() {
  const issuerUrl = new URL(issuer)
  const discovered = await oauth.discoveryRequest(issuerUrl, { algorithm: 'oidc', ...options() })
  const as = await oauth.processDiscoveryResponse(issuerUrl, discovered)
  const client = { client_id: clientId }
  const auth = oauth.None()
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const url = new URL(as.authorization_endpoint)
  for (const [name, value] of Object.entries({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid profile',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  })) url.searchParams.set(name, value)
  const params = oauth.validateAuthResponse(as, client, await callback(url, TIMEOUT), state)
  const response = await oauth.authorizationCodeGrantRequest(
    as, client, auth, params, redirectUri, verifier, options())
  let result = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: nonce,
    requireIdToken: true,
  })
  const subject = oauth.getValidatedIdTokenClaims(result).sub
  const userinfo = async (token) => {
    const answer = await oauth.userInfoRequest(as, client, token, options())
    await oauth.processUserInfoResponse(as, client, subject, answer)
  }
  await userinfo(result.access_token)
  let refreshToken = result.refresh_token
  for (let i = 0; i < 2; i++) {
    const answer = await oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, options())
    result = await oauth.processRefreshTokenResponse(as, client, answer)
    refreshToken = result.refresh_token ?? refreshToken // RFC 6749 §6: kept when none comes back
    await userinfo(result.access_token)
  }
}

await drive(main, REFUSALS)
