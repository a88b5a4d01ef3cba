// What a server call's connection is: grpc-js gives each call its HTTP/2 session
// (one TLS connection) but exports no way to ask for it, so this reads it where
// grpc-js 1.x keeps it (the call's `call`, through any interceptors' `nextCall`,
// to the `stream` and its `session`). Used as a WeakMap key, so that what is fixed
// for a connection is worked out once for it instead of on every call: the peer
// certificate (grpc-js converts it on every getAuthContext, a few percent of a busy
// leader's CPU) and the member list last sent. Where the shape is not found (another
// grpc-js, a test's fake call) the callers simply work it out per call.

interface Hop {
  call?: unknown;
  nextCall?: unknown;
  stream?: { session?: unknown };
}

/** How deep interceptors may nest before the walk gives up. */
const MAX_HOPS = 8;

/** The call's HTTP/2 session (an object per connection), or undefined when it cannot be found. */
export function connectionOf(call: unknown): object | undefined {
  let hop = (call as Hop | null)?.call as Hop | undefined;
  for (let i = 0; i < MAX_HOPS && hop && typeof hop === 'object'; i++) {
    const session = hop.stream?.session;
    if (session && typeof session === 'object') return session;
    hop = hop.nextCall as Hop | undefined;
  }
  return undefined;
}

/**
 * A value worked out once per connection: `compute` runs on a connection's first call
 * (and on every call whose connection cannot be found), and is dropped with the connection.
 */
export function perConnection<T>(compute: (call: never) => T): (call: unknown) => T {
  const memo = new WeakMap<object, T>();
  return (call) => {
    const conn = connectionOf(call);
    if (!conn) return compute(call as never);
    if (memo.has(conn)) return memo.get(conn)!;
    const value = compute(call as never);
    memo.set(conn, value);
    return value;
  };
}
