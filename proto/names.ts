// One rule per naming concept, shared by the CLI, the agent and the control
// plane, so the CLI never accepts what the server refuses. The rules are
// Kubernetes' own, so a manifest valid here is valid on k3s too. Each rule
// returns undefined for a good value, else the rule it breaks (the caller adds
// the field and the current value).

import { BrambleError } from './util/errors.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** A rule check: undefined when the value is fine, else the rule it breaks. */
export type Rule = (v: string) => string | undefined;

export const dnsLabelRule: Rule = (v) => {
  if (v === '') return 'must not be empty';
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!DNS_LABEL.test(v)) return "must be a lowercase RFC 1123 label (a-z, 0-9, '-')";
  return undefined;
};

export const dnsSubdomainRule: Rule = (v) => {
  if (v === '') return 'must not be empty';
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!DNS_SUBDOMAIN.test(v)) return "must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.')";
  return undefined;
};

/** Label and annotation keys: an optional DNS subdomain prefix and '/', then a name. */
export const qualifiedNameRule: Rule = (v) => {
  const parts = v.split('/');
  if (parts.length > 2) return "must be a qualified name (an optional DNS subdomain prefix and '/', then a name) with at most one '/'";
  const name = parts[parts.length - 1]!;
  if (parts.length === 2) {
    const prefixProblem = dnsSubdomainRule(parts[0]!);
    if (prefixProblem) return `prefix ${prefixProblem}`;
  }
  if (name === '') return 'name part must not be empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  }
  return undefined;
};

export const labelValueRule: Rule = (v) => {
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(v)) {
    return "must be empty or consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  }
  return undefined;
};

/** Keys of ConfigMap and Secret data (they become file names in volumes). */
export const configKeyRule: Rule = (v) => {
  if (v.length > 253) return 'must be no more than 253 characters';
  if (!CONFIG_KEY.test(v)) return "must consist of alphanumeric characters, '-', '_' or '.'";
  if (v === '.' || v === '..') return "must not be '.' or '..'";
  return undefined;
};

export const timestampRule: Rule = (v) =>
  /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : 'must be an RFC 3339 timestamp such as "2024-05-01T12:00:00Z"';

/**
 * Node names: a DNS subdomain, and at most 63 characters because the name is
 * also the node's kubernetes.io/hostname label value (labels allow 63).
 */
export const nodeNameRule: Rule = (v) => {
  if (v.length > 63) return 'must be no more than 63 characters (it is also the kubernetes.io/hostname label)';
  return dnsSubdomainRule(v);
};

/** Label keys as given on a command line or by an agent: a qualified name that is not empty. */
export const labelKeyRule: Rule = (v) => (v === '' ? 'must not be empty' : qualifiedNameRule(v));

/**
 * "host:port", "[::1]:port" or ":port" (every address), port 0-65535: the one
 * reading of an address flag, for the CLI's checks and the server's listeners.
 */
export function parseHostPort(addr: string): { host: string; port: number } | undefined {
  const m = addr.match(/^(?:\[([^\]\s]+)\]|([^:\s[\]]*)):(\d{1,5})$/);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * parseHostPort or a coded error naming what the address is for. `dial`: the
 * port must be one a client can connect to (1-65535); listeners may ask for 0.
 */
export function splitHostPort(addr: string, what = 'address', opts: { dial?: boolean } = {}): { host: string; port: number } {
  const parsed = parseHostPort(addr);
  if (!parsed) throw new BrambleError('INVALID_ARGUMENT', `${what} must be host:port such as 192.168.1.10:7443: current value is "${addr}"`);
  if (opts.dial && parsed.port === 0) throw new BrambleError('INVALID_ARGUMENT', `${what} port must be 1-65535: current value is "${addr}"`);
  return parsed;
}
