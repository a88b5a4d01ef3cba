// Which controllers a server runs: kube-controller-manager's `--controllers`
// syntax. "*" is every controller, "foo" adds foo, "-foo" removes it, so
// "*,-garbage-collector" runs all but the collector. For debugging a cluster,
// and for tests of the API alone, whose object counts a controller would move.
import { UsageError } from '../../proto/util/errors.js';

/** Every controller `bramble server` can run, by its Controller.name. */
export const CONTROLLER_NAMES = ['scheduler', 'node-lifecycle', 'replicaset', 'deployment', 'daemonset', 'job', 'cronjob', 'taint-eviction', 'event-ttl', 'garbage-collector', 'endpoints', 'service-lb'] as const;

/** The names `spec` selects; a usage error names an unknown controller and lists the known ones. */
export function selectControllers(spec: string, flag = '--controllers'): Set<string> {
  const chosen = new Set<string>();
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === '*') {
      for (const n of CONTROLLER_NAMES) chosen.add(n);
      continue;
    }
    const off = item.startsWith('-');
    const name = off ? item.slice(1) : item;
    if (!(CONTROLLER_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`${flag} must list controllers among *, ${CONTROLLER_NAMES.join(', ')} (a leading - disables one): current value has "${name}"`);
    }
    if (off) chosen.delete(name);
    else chosen.add(name);
  }
  return chosen;
}
