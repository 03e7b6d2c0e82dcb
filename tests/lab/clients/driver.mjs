// What the two npm drivers share: reading the lab's redirect, and telling a refusal from a crash.

// The lab's /authorize answers at once with the redirect: read it as a browser would follow it.
export async function callback(url, timeoutMs) {
  const answer = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
  const location = answer.headers.get('location')
  if (!location) throw new Error(`/authorize answered ${answer.status} without a redirect`)
  return new URL(location)
}

// Run the script: the library's own errors (and a timeout) are refusals, printed on one line with
// exit status 1; anything else is rethrown and Node prints it with its stack (a crash to the lab).
export async function drive(main, refusals) {
  try {
    await main()
    console.log('finished the flow')
  } catch (err) {
    const timeout = err?.name === 'TimeoutError' || err?.cause?.name === 'TimeoutError'
    if (!timeout && !refusals.some((kind) => err instanceof kind)) throw err
    const code = err.code ? ` (${err.code})` : ''
    const cause = err.cause?.message ? ` (${err.cause.message})` : ''
    console.log(`refused: ${err.name}${code}: ${err.message}${cause}`)
    process.exit(1)
  }
}
