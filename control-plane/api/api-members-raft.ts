// The Members service and `bramble cluster status|remove` over a Raft-backed
// store: joins become learners, learners that caught up are promoted to voters
// (one change at a time), and the status is gathered from every member.
import type { Clock, Timer } from '../../proto/util/clock.js';
import { BrambleError, isBrambleError } from '../../proto/util/errors.js';
import type { Logger } from '../../proto/util/log.js';
import type { ClusterStatusResponse, JoinMemberResponse, MemberInfo, MemberState, MemberStatusResponse } from '../../proto/load.js';
import type { MembersClient } from '../raft/raft-members-client.js';
import { NotLeaderError } from '../raft/raft-leadership.js';
import type { RaftStore } from '../raft/raft-store.js';
import type { Command, CommitResult } from '../store/store.js';
import type { ClusterMembers, MemberService } from './api-members.js';

/** What a new member is handed: never logged, never stored. */
export interface MemberBundle {
  caPem: string;
  caKeyPem: string;
  encryptionKeys: string;
}

export interface RaftMembersOptions {
  /** The raw Raft store: a forwarded write is proposed here and never forwarded again. */
  store: RaftStore;
  client: MembersClient;
  bundle: () => Promise<MemberBundle>;
  clock: Clock;
  logger: Logger;
  /** How often the leader looks for learners to promote (default 1 s). */
  promoteEveryMs?: number;
  /** How long `cluster status` waits for each member (default 2 s). */
  statusDeadlineMs?: number;
}

export class RaftMembers implements MemberService, ClusterMembers {
  private timer: Timer | undefined;
  private promoting = false;

  constructor(private readonly opts: RaftMembersOptions) {}

  private get node() {
    return this.opts.store.node;
  }

  /** Starts promoting learners that caught up, while this member leads. */
  start(): void {
    this.timer ??= this.opts.clock.setInterval(() => void this.promoteCaughtUp(), this.opts.promoteEveryMs ?? 1000);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  members(): Array<Required<MemberInfo> & { name: string; address: string }> {
    // Asked with every answer the API sends (server-raft.ts servers()): the membership alone, not the whole status.
    const conf = this.node.membership();
    const learners = new Set(conf.learners);
    return [...conf.voters, ...conf.learners].sort().map((name) => ({ name, address: conf.peers[name] ?? '', learner: learners.has(name) }));
  }

  private leaderAddress(): { leader: string; address: string | undefined } {
    const st = this.node.status();
    return { leader: st.leader, address: st.leader ? st.peers[st.leader] : undefined };
  }

  async join(name: string, address: string, token: string): Promise<JoinMemberResponse> {
    const st = this.node.status();
    if (st.role !== 'leader') {
      const { leader, address: leaderAddress } = this.leaderAddress();
      if (!leaderAddress) throw new NotLeaderError(this.node.id, leader);
      return this.opts.client.joinMember(leaderAddress, { token, name, address });
    }
    const known = st.peers[name];
    const isMember = st.confState.voters.includes(name) || st.confState.learners.includes(name);
    if (isMember && known !== address) {
      throw new BrambleError('NODE_NAME_TAKEN', `member "${name}" is already in the cluster at ${known}: remove it first (bramble cluster remove ${name}) or join under another --node-name`);
    }
    // The same server asking again (its first answer was lost) is already a member: just answer.
    if (!isMember) await this.node.proposeConfChange({ type: 'addLearner', node: name, context: address });
    return { ...(await this.opts.bundle()), members: this.members() };
  }

  propose(command: Command): Promise<CommitResult> {
    return this.opts.store.propose(command);
  }

  ownStatus(): MemberStatusResponse {
    const st = this.node.status();
    const role = st.confState.learners.includes(st.id) ? 'learner' : st.role;
    return {
      name: st.id, role, term: st.term, leader: st.leader, commitIndex: st.commit, appliedIndex: st.applied, lastIndex: st.lastIndex,
      revision: this.opts.store.revision(),
    };
  }

  async status(): Promise<ClusterStatusResponse> {
    const st = this.node.status();
    const deadline = this.opts.statusDeadlineMs ?? 2000;
    const members = this.members();
    const answers = await Promise.all(members.map(async (m): Promise<MemberStatusResponse | Error> => {
      if (m.name === st.id) return this.ownStatus();
      if (!m.address) return new Error('no address known');
      try {
        return await this.opts.client.memberStatus(m.address, deadline);
      } catch (e) {
        return e instanceof Error ? e : new Error(String(e));
      }
    }));
    const fromLeader = answers.find((a): a is MemberStatusResponse => !(a instanceof Error) && a.role === 'leader');
    const leaderCommit = Number(fromLeader?.commitIndex ?? st.commit);
    const rows = members.map((m, i): MemberState => {
      const a = answers[i]!;
      if (a instanceof Error) return { name: m.name, address: m.address, role: m.learner ? 'learner' : '', error: a.message };
      const contact = st.role === 'leader' && m.name !== st.id ? st.lastContact[m.name] : undefined;
      return {
        name: m.name, address: m.address, role: a.role, term: a.term, commitIndex: a.commitIndex, appliedIndex: a.appliedIndex,
        lag: Math.max(0, leaderCommit - Number(a.appliedIndex)),
        lastContact: contact !== undefined ? new Date(contact).toISOString() : '',
      };
    });
    return { leader: fromLeader?.name ?? st.leader, members: rows };
  }

  async remove(name: string): Promise<MemberInfo[]> {
    const st = this.node.status();
    if (st.role !== 'leader') {
      const { leader, address } = this.leaderAddress();
      throw new BrambleError('NOT_LEADER', leader
        ? `membership changes are made on the leader: run it again with --server ${address ?? leader}`
        : 'no leader is known right now (an election is under way): run it again shortly');
    }
    if (!st.confState.voters.includes(name) && !st.confState.learners.includes(name)) {
      throw new BrambleError('NOT_FOUND', `member "${name}" is not in the cluster: members are ${this.members().map((m) => m.name).join(', ')}`);
    }
    if (st.confState.voters.length === 1 && st.confState.voters[0] === name) {
      throw new BrambleError('FAILED_PRECONDITION', `member "${name}" is the only voter: removing it would leave no cluster`);
    }
    await this.opts.store.removeMember(name);
    this.opts.logger.info({ member: name }, 'member removed');
    return this.members().filter((m) => m.name !== name);
  }

  /** A learner whose log reached the leader's commit index becomes a voter. */
  private async promoteCaughtUp(): Promise<void> {
    if (this.promoting) return;
    const st = this.node.status();
    if (st.role !== 'leader' || !st.progress) return;
    const ready = [...st.progress].find(([id, pr]) => pr.isLearner && pr.recentActive && pr.match >= st.commit && id !== st.id);
    if (ready === undefined) return;
    this.promoting = true;
    try {
      await this.node.proposeConfChange({ type: 'promote', node: ready[0] });
      this.opts.logger.info({ member: ready[0] }, 'learner caught up: promoted to voter');
    } catch (e) {
      // Another change is pending, or leadership moved: the next round looks again.
      if (!isBrambleError(e)) this.opts.logger.warn({ err: e, member: ready[0] }, 'promotion failed');
    } finally {
      this.promoting = false;
    }
  }
}
