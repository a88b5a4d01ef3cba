// Where the Kubernetes documentation's example manifests are, for the tests that
// apply them unchanged. They are not committed (what our tools fetch from other
// repositories stays out of our commits): BRAMBLE_K8S_EXAMPLES names a copy of
// kubernetes/website content/en/examples, and the tests skip without it.
import { existsSync } from 'node:fs';
import path from 'node:path';

export const K8S_EXAMPLES_SKIP =
  'set BRAMBLE_K8S_EXAMPLES to a copy of kubernetes/website content/en/examples (controllers/, application/, pods/, service/) to run these';

/** The examples folder, or undefined when none is given or it lacks controllers/. */
export function k8sExamplesDir(): string | undefined {
  const dir = process.env.BRAMBLE_K8S_EXAMPLES;
  if (!dir) return undefined;
  const resolved = path.resolve(dir);
  if (!existsSync(path.join(resolved, 'controllers'))) {
    throw new Error(`BRAMBLE_K8S_EXAMPLES must name content/en/examples of kubernetes/website: ${resolved} has no controllers/ folder`);
  }
  return resolved;
}
