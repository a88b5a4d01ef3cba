// `$(VAR)` references in env values, command and args, exactly as Kubernetes
// expands them (third_party/forked/golang/expansion): a defined VAR is
// replaced, `$$` is an escaped `$` (so `$$(VAR)` stays a literal `$(VAR)`),
// an undefined reference, an unterminated `$(` and a `$` before anything else
// are left as written. Nothing is expanded twice: replaced text is not rescanned.

/** Looks a name up; undefined when it is not defined. */
export type EnvLookup = (name: string) => string | undefined;

export function expandVars(input: string, lookup: EnvLookup): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') {
      out += '$';
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close === -1) {
        out += '$(';
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else {
      out += `$${next}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** A lookup over several maps, the first that defines a name winning. */
export function lookupIn(...maps: Record<string, string>[]): EnvLookup {
  return (name) => {
    for (const m of maps) if (Object.prototype.hasOwnProperty.call(m, name)) return m[name];
    return undefined;
  };
}
