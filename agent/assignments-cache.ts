// The last known Pods, ConfigMaps and Secrets assigned to this node, kept in
// <dataDir>/assignments.json so that an agent restarted while the control plane
// is unreachable keeps running (and restarting) its pods. The file holds
// Secrets, so it is 0600 from the moment it exists; it is replaced by write +
// fsync + rename so a power cut leaves the old or the new file, never half.
// An unchanged set is not rewritten, to spare SD cards. A file that cannot be
// trusted (truncated, edited, from another version) must not keep the agent from
// starting: loadOrDiscard() moves it aside and the agent starts from what the
// control plane sends.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../proto/util/files.js';
import { BrambleError } from '../proto/util/errors.js';
import type { KObject, Pod } from '../proto/model.js';
import { checkAssignedObject } from './assignment-event.js';

export interface Assignments {
  pods: Pod[];
  configMaps: KObject[];
  secrets: KObject[];
}

export const ASSIGNMENTS_FILE = 'assignments.json';
/** Where a file that could not be loaded is kept for a person to look at; the next one replaces it. */
export const DISCARDED_SUFFIX = '.corrupt';
const VERSION = 1;

export class AssignmentsCache {
  private lastWritten: string | undefined;

  constructor(private readonly dataDir: string) {}

  get path(): string {
    return path.join(this.dataDir, ASSIGNMENTS_FILE);
  }

  /** Writes the set; returns false when the file already held exactly this. */
  async save(a: Assignments): Promise<boolean> {
    const text = JSON.stringify({ version: VERSION, pods: a.pods, configMaps: a.configMaps, secrets: a.secrets });
    if (this.lastWritten === undefined) this.lastWritten = await fs.readFile(this.path, 'utf8').catch(() => undefined);
    if (text === this.lastWritten) return false;
    await fs.mkdir(this.dataDir, { recursive: true });
    // fsync: the cache is what keeps pods running after a power cut without the control plane.
    await writeFileAtomic(this.path, text, 0o600, { fsync: true });
    this.lastWritten = text;
    return true;
  }

  /** The saved set, or undefined when none was saved yet. */
  async load(): Promise<Assignments | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new BrambleError('INTERNAL', `${this.path} must be JSON: ${(e as Error).message}`);
    }
    const o = parsed as Partial<Record<'version' | 'pods' | 'configMaps' | 'secrets', unknown>>;
    if (o?.version !== VERSION || !Array.isArray(o.pods) || !Array.isArray(o.configMaps) || !Array.isArray(o.secrets)) {
      throw new BrambleError('INTERNAL', `${this.path} must hold version ${VERSION} with pods, configMaps and secrets lists: it does not`);
    }
    this.lastWritten = text;
    return { pods: o.pods as Pod[], configMaps: o.configMaps as KObject[], secrets: o.secrets as KObject[] };
  }

  /**
   * load(), except that a file which cannot be read as assignments is moved aside (and
   * reported) instead of failing, and objects that would not pass the assignment stream's
   * checks are dropped (and reported): the agent must start whatever the disk holds.
   */
  async loadOrDiscard(report: (problem: string) => void): Promise<Assignments | undefined> {
    let a: Assignments | undefined;
    try {
      a = await this.load();
    } catch (e) {
      const aside = `${this.path}${DISCARDED_SUFFIX}`;
      await fs.rename(this.path, aside).catch(() => undefined);
      this.lastWritten = undefined;
      report(`${e instanceof Error ? e.message : String(e)}; moved to ${aside}`);
      return undefined;
    }
    if (!a) return undefined;
    const keep = <T extends KObject>(list: T[], kind: string): T[] =>
      list.filter((o, i) => {
        try {
          if (checkAssignedObject(o).kind === kind) return true;
          report(`${this.path} ${kind} entry ${i} is a ${o.kind}: dropped`);
        } catch (e) {
          report(`${this.path} ${kind} entry ${i} dropped: ${(e as Error).message}`);
        }
        return false;
      });
    return { pods: keep(a.pods, 'Pod'), configMaps: keep(a.configMaps, 'ConfigMap'), secrets: keep(a.secrets, 'Secret') };
  }
}
