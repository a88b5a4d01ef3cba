// A Pod's dnsPolicy and dnsConfig, with Kubernetes' rules (validatePodDNSConfig):
// None needs at least one nameserver; at most 3 nameservers, each an IP; at most
// 32 search domains of 2048 characters in all, each a DNS subdomain (a trailing
// dot is fine); every option has a name.
import { isIP } from 'node:net';
import { z } from 'zod';
import { DNS_POLICIES, MAX_DNS_NAMESERVERS, MAX_DNS_SEARCH_LIST_CHARS, MAX_DNS_SEARCH_PATHS } from '../../proto/model.js';
import { dnsSubdomainRule } from '../../proto/names.js';
import { addProblem, asArray, field } from './schema-errors.js';

export const dnsPolicySchema = z.enum(DNS_POLICIES);

export const podDnsConfigSchema = z.strictObject({
  nameservers: z.array(z.string()).optional(),
  searches: z.array(z.string()).optional(),
  options: z.array(z.strictObject({ name: z.string().optional(), value: z.string().optional() })).optional(),
});

type RefineCtx = Parameters<typeof addProblem>[0];

/** Cross-field rules of a PodSpec's DNS fields; paths relative to the spec. */
export function checkPodDns(spec: unknown, ctx: RefineCtx): void {
  const policy = field(spec, 'dnsPolicy');
  const config = field(spec, 'dnsConfig');
  if (policy === 'None') {
    if (config === undefined) {
      addProblem(ctx, ['dnsConfig'], 'must be set when dnsPolicy is "None"');
      return;
    }
    if (asArray(field(config, 'nameservers')).length === 0) {
      addProblem(ctx, ['dnsConfig', 'nameservers'], 'must have at least one nameserver when dnsPolicy is "None"');
    }
  }
  if (config === undefined) return;
  const nameservers = field(config, 'nameservers');
  if (Array.isArray(nameservers)) {
    if (nameservers.length > MAX_DNS_NAMESERVERS) {
      addProblem(ctx, ['dnsConfig', 'nameservers'], `must have at most ${MAX_DNS_NAMESERVERS} nameservers: current value has ${nameservers.length}`);
    }
    nameservers.forEach((ns, i) => {
      if (typeof ns === 'string' && isIP(ns) === 0) addProblem(ctx, ['dnsConfig', 'nameservers', i], 'must be a valid IP address', ns);
    });
  }
  const searches = field(config, 'searches');
  if (Array.isArray(searches)) {
    if (searches.length > MAX_DNS_SEARCH_PATHS) {
      addProblem(ctx, ['dnsConfig', 'searches'], `must have at most ${MAX_DNS_SEARCH_PATHS} search paths: current value has ${searches.length}`);
    }
    const chars = searches.filter((s) => typeof s === 'string').join(' ').length;
    if (chars > MAX_DNS_SEARCH_LIST_CHARS) {
      addProblem(ctx, ['dnsConfig', 'searches'], `must have at most ${MAX_DNS_SEARCH_LIST_CHARS} characters (spaces included) in the search list: current value has ${chars}`);
    }
    searches.forEach((s, i) => {
      if (typeof s !== 'string') return;
      const problem = dnsSubdomainRule(s.replace(/\.$/, ''));
      if (problem) addProblem(ctx, ['dnsConfig', 'searches', i], problem, s);
    });
  }
  asArray(field(config, 'options')).forEach((o, i) => {
    const name = field(o, 'name');
    if (name === undefined || name === '') addProblem(ctx, ['dnsConfig', 'options', i, 'name'], 'must not be empty');
  });
}
