import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cronScheduleRule } from './schema-workloads.js';
import { validateObject } from './schema.js';
import { expectProblem, expectValid, fixtures, problemsOf, set } from '../testing/schema-fixtures.js';

const deploy = (path: string, value: unknown) => set(fixtures.deployment(), path, value);

describe('Deployment', () => {
  test('a selector must match the template labels', () => {
    expectProblem(
      deploy('spec.template.metadata.labels', { app: 'api' }),
      'spec.template.metadata.labels',
      'must match the selector (app=web): current labels are app=api',
    );
    expectProblem(deploy('spec.template.metadata', undefined), 'spec.template.metadata.labels', 'current labels are none');
  });

  test('matchExpressions count toward the selector', () => {
    const obj = deploy('spec.selector', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] });
    expectProblem(obj, 'spec.template.metadata.labels', 'must match the selector (tier in (a,b))');
    expectValid(set(obj, 'spec.template.metadata.labels.tier', 'b'));
  });

  test('a selector is required and must not be empty, as in apps/v1', () => {
    expectProblem(deploy('spec.selector', {}), 'spec.selector', 'must not be empty');
    expectProblem(deploy('spec.selector', { matchLabels: {}, matchExpressions: [] }), 'spec.selector', 'must not be empty');
    expectProblem(deploy('spec.selector', undefined), 'spec.selector', 'required: a Deployment needs matchLabels or matchExpressions');
  });

  test('matchLabels and matchExpressions must both select the template labels', () => {
    const selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] };
    expectValid(deploy('spec.selector', selector));
    expectProblem(
      set(deploy('spec.selector', selector), 'spec.template.metadata.labels.tier', 'db'),
      'spec.template.metadata.labels',
      'must match the selector (app=web,tier!=db): current labels are app=web,tier=db',
    );
    expectProblem(
      deploy('spec.selector', { matchExpressions: [{ key: 'track', operator: 'Exists' }] }),
      'spec.template.metadata.labels',
      'must match the selector (track): current labels are app=web',
    );
  });

  test('a selector expression with In needs values and with Exists must have none', () => {
    expectProblem(deploy('spec.selector', { matchExpressions: [{ key: 'app', operator: 'In' }] }), 'spec.selector.matchExpressions[0].values', 'must not be empty when operator is "In"');
    expectProblem(deploy('spec.selector', { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] }), 'spec.selector.matchExpressions[0].values', 'must be empty');
  });

  test('replicas must be a non-negative integer', () => {
    expectProblem(deploy('spec.replicas', -1), 'spec.replicas', 'must be greater than or equal to 0: current value is -1');
  });

  test('the template restartPolicy must be Always', () => {
    expectProblem(deploy('spec.template.spec.restartPolicy', 'Never'), 'spec.template.spec.restartPolicy', 'must be "Always" for a Deployment: current value is "Never"');
  });

  test('strategy type is Recreate or RollingUpdate; maxSurge and maxUnavailable are integers or percentages', () => {
    expectProblem(deploy('spec.strategy', { type: 'BlueGreen' }), 'spec.strategy.type', 'must be one of "Recreate", "RollingUpdate"');
    expectProblem(deploy('spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'a lot' } }), 'spec.strategy.rollingUpdate.maxSurge', 'must be an integer or a percentage such as "25%": current value is "a lot"');
    expectProblem(deploy('spec.strategy', { rollingUpdate: { maxUnavailable: '150%' } }), 'spec.strategy.rollingUpdate.maxUnavailable', 'must be no more than 100%');
    expectValid(deploy('spec.strategy', { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } }));
  });

  test('rollingUpdate is only for RollingUpdate and cannot have both values zero', () => {
    expectProblem(deploy('spec.strategy', { type: 'Recreate', rollingUpdate: { maxSurge: 1 } }), 'spec.strategy.rollingUpdate', 'must not be set when type is "Recreate"');
    const ru = 'spec.strategy.rollingUpdate.maxUnavailable';
    expectProblem(deploy('spec.strategy', { rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } }), ru, 'must not be 0 when maxSurge is 0: no pod could ever be replaced: current value is "0%"');
    expectProblem(deploy('spec.strategy', { rollingUpdate: { maxSurge: '0%', maxUnavailable: 0 } }), ru, 'current value is 0');
    expectProblem(deploy('spec.strategy', { rollingUpdate: { maxSurge: '00%', maxUnavailable: '000%' } }), ru, 'must not be 0 when maxSurge is 0');
  });

  test('a rollingUpdate value left out counts as its 25% default', () => {
    expectValid(deploy('spec.strategy', { rollingUpdate: { maxSurge: 0 } }));
    expectValid(deploy('spec.strategy', { rollingUpdate: { maxUnavailable: '0%' } }));
  });

  test('maxSurge and maxUnavailable must be non-negative integers or "N%" with N from 0 to 100', () => {
    const ru = (v: Record<string, unknown>) => deploy('spec.strategy', { rollingUpdate: v });
    const path = 'spec.strategy.rollingUpdate';
    expectProblem(ru({ maxSurge: -1 }), `${path}.maxSurge`, 'must be greater than or equal to 0: current value is -1');
    expectProblem(ru({ maxUnavailable: -3 }), `${path}.maxUnavailable`, 'must be greater than or equal to 0: current value is -3');
    expectProblem(ru({ maxSurge: '101%' }), `${path}.maxSurge`, 'must be no more than 100%: current value is "101%"');
    for (const bad of ['-5%', '5', '5 %', '%', '2.5%', '25%%']) {
      expectProblem(ru({ maxSurge: bad }), `${path}.maxSurge`, `must be an integer or a percentage such as "25%": current value is ${JSON.stringify(bad)}`);
    }
    expectProblem(ru({ maxUnavailable: 1.5 }), `${path}.maxUnavailable`, 'must be an integer');
    expectValid(ru({ maxSurge: '100%', maxUnavailable: '0%' }));
  });

  test('replicas, minReadySeconds, revisionHistoryLimit and progressDeadlineSeconds must not be negative', () => {
    for (const f of ['replicas', 'minReadySeconds', 'revisionHistoryLimit', 'progressDeadlineSeconds']) {
      expectProblem(deploy(`spec.${f}`, -1), `spec.${f}`, 'must be greater than or equal to 0: current value is -1');
    }
  });

  test('progressDeadlineSeconds must exceed minReadySeconds', () => {
    const obj = deploy('spec.minReadySeconds', 30);
    expectProblem(set(obj, 'spec.progressDeadlineSeconds', 30), 'spec.progressDeadlineSeconds', 'must be greater than minReadySeconds (30): current value is 30');
    expectProblem(set(obj, 'spec.progressDeadlineSeconds', 0), 'spec.progressDeadlineSeconds', 'must be greater than minReadySeconds (30): current value is 0');
    expectProblem(deploy('spec.progressDeadlineSeconds', 0), 'spec.progressDeadlineSeconds', 'must be greater than minReadySeconds (0)');
    expectValid(set(obj, 'spec.progressDeadlineSeconds', 31));
  });

  test('without progressDeadlineSeconds, minReadySeconds must stay below its 600-second default', () => {
    expectProblem(deploy('spec.minReadySeconds', 600), 'spec.minReadySeconds', 'must be less than progressDeadlineSeconds (600 when not set): current value is 600');
    expectValid(deploy('spec.minReadySeconds', 599));
    expectValid(set(deploy('spec.minReadySeconds', 900), 'spec.progressDeadlineSeconds', 901));
  });

  test('paused is a boolean and revisionHistoryLimit non-negative', () => {
    expectProblem(deploy('spec.paused', 'true'), 'spec.paused', 'must be a boolean (true or false): current value is "true"');
    expectProblem(deploy('spec.revisionHistoryLimit', -2), 'spec.revisionHistoryLimit', 'must be greater than or equal to 0');
  });
});

describe('DaemonSet', () => {
  test('a selector must match the template labels', () => {
    expectProblem(set(fixtures.daemonSet(), 'spec.selector.matchLabels.app', 'other'), 'spec.template.metadata.labels', 'must match the selector (app=other)');
  });

  test('updateStrategy is RollingUpdate or OnDelete, and OnDelete takes no rollingUpdate', () => {
    expectProblem(set(fixtures.daemonSet(), 'spec.updateStrategy', { type: 'Recreate' }), 'spec.updateStrategy.type', 'must be one of "RollingUpdate", "OnDelete"');
    expectProblem(set(fixtures.daemonSet(), 'spec.updateStrategy', { type: 'OnDelete', rollingUpdate: {} }), 'spec.updateStrategy.rollingUpdate', 'must not be set when type is "OnDelete"');
  });

  test('a selector is required and must not be empty', () => {
    expectProblem(set(fixtures.daemonSet(), 'spec.selector', undefined), 'spec.selector', 'required: a DaemonSet needs matchLabels or matchExpressions');
    expectProblem(set(fixtures.daemonSet(), 'spec.selector', {}), 'spec.selector', 'must not be empty: a DaemonSet selector needs matchLabels or matchExpressions');
  });

  test('matchExpressions must select the template labels', () => {
    const ds = set(fixtures.daemonSet(), 'spec.selector', { matchExpressions: [{ key: 'app', operator: 'In', values: ['agent', 'probe'] }] });
    expectValid(ds);
    expectProblem(set(ds, 'spec.template.metadata.labels.app', 'other'), 'spec.template.metadata.labels', 'must match the selector (app in (agent,probe)): current labels are app=other');
  });

  test('maxUnavailable must not be 0 when maxSurge is 0, which is its default', () => {
    const strategy = (rollingUpdate: Record<string, unknown>) => set(fixtures.daemonSet(), 'spec.updateStrategy', { type: 'RollingUpdate', rollingUpdate });
    const path = 'spec.updateStrategy.rollingUpdate.maxUnavailable';
    expectProblem(strategy({ maxUnavailable: 0 }), path, 'must not be 0 when maxSurge is 0 (its default is 0): no pod could ever be replaced: current value is 0');
    expectProblem(strategy({ maxUnavailable: '0%' }), path, 'current value is "0%"');
    expectProblem(strategy({ maxUnavailable: '0%', maxSurge: 0 }), path, 'must not be 0 when maxSurge is 0: no pod could ever be replaced');
    expectProblem(strategy({ maxUnavailable: -1 }), path, 'must be greater than or equal to 0: current value is -1');
    expectProblem(strategy({ maxUnavailable: '120%' }), path, 'must be no more than 100%');
    expectValid(strategy({ maxUnavailable: 0, maxSurge: 1 }));
    expectValid(strategy({ maxSurge: 0 }));
    expectValid(strategy({ maxUnavailable: '10%' }));
  });

  test('minReadySeconds and revisionHistoryLimit must not be negative', () => {
    for (const f of ['minReadySeconds', 'revisionHistoryLimit']) {
      expectProblem(set(fixtures.daemonSet(), `spec.${f}`, -1), `spec.${f}`, 'must be greater than or equal to 0: current value is -1');
    }
  });

  test('the template restartPolicy must be Always', () => {
    expectProblem(set(fixtures.daemonSet(), 'spec.template.spec.restartPolicy', 'OnFailure'), 'spec.template.spec.restartPolicy', 'must be "Always" for a DaemonSet');
  });
});

describe('Job', () => {
  test('the template restartPolicy must be OnFailure or Never', () => {
    const rp = 'spec.template.spec.restartPolicy';
    expectProblem(set(fixtures.job(), rp, 'Always'), rp, 'must be "OnFailure" or "Never" for a Job: current value is "Always"');
    expectProblem(set(fixtures.job(), rp, undefined), rp, 'required for a Job: must be "OnFailure" or "Never"');
    expectValid(set(fixtures.job(), rp, 'OnFailure'));
  });

  test('a selector must match the template labels', () => {
    expectProblem(set(fixtures.job(), 'spec.selector', { matchLabels: { app: 'x' } }), 'spec.template.metadata.labels', 'must match the selector (app=x)');
  });

  test('counts are non-negative and activeDeadlineSeconds positive', () => {
    for (const f of ['completions', 'parallelism', 'backoffLimit', 'ttlSecondsAfterFinished']) {
      expectProblem(set(fixtures.job(), `spec.${f}`, -1), `spec.${f}`, 'must be greater than or equal to 0');
    }
    expectProblem(set(fixtures.job(), 'spec.activeDeadlineSeconds', 0), 'spec.activeDeadlineSeconds', 'must be greater than or equal to 1');
  });

  test('Indexed completion mode needs completions', () => {
    expectProblem(set(fixtures.job(), 'spec.completionMode', 'Indexed'), 'spec.completions', 'required when completionMode is "Indexed"');
    expectProblem(set(fixtures.job(), 'spec.completionMode', 'Sorted'), 'spec.completionMode', 'must be one of "NonIndexed", "Indexed"');
  });

  test('completions below parallelism is valid, as in Kubernetes', () => {
    expectValid(set(set(fixtures.job(), 'spec.completions', 2), 'spec.parallelism', 5));
    expectValid(set(set(fixtures.job(), 'spec.completionMode', 'Indexed'), 'spec.completions', 3));
  });

  test('suspend and manualSelector are booleans, and manualSelector needs a selector', () => {
    expectValid(set(fixtures.job(), 'spec.suspend', true));
    expectProblem(set(fixtures.job(), 'spec.suspend', 'yes'), 'spec.suspend', 'must be a boolean');
    expectProblem(set(fixtures.job(), 'spec.manualSelector', true), 'spec.selector', 'required when manualSelector is true');
    const manual = set(set(fixtures.job(), 'spec.manualSelector', true), 'spec.selector', { matchLabels: { app: 'migrate' } });
    expectValid(manual);
  });

  test('a Job name fits a label value: at most 63 characters', () => {
    expectProblem(set(fixtures.job(), 'metadata.name', 'j'.repeat(64)), 'metadata.name', 'must be no more than 63 characters');
    expectValid(set(fixtures.job(), 'metadata.name', 'j'.repeat(63)));
  });
});

describe('CronJob', () => {
  const cron = (path: string, value: unknown) => set(fixtures.cronJob(), path, value);

  test('the schedule must be a valid five-field cron expression or a macro', () => {
    expectProblem(cron('spec.schedule', '61 * * * *'), 'spec.schedule', 'must be a valid cron schedule (Invalid value for minute: 61): current value is "61 * * * *"');
    expectProblem(cron('spec.schedule', 'CRON_TZ=Europe/Berlin 0 2 * * *'), 'spec.schedule', 'must not carry a CRON_TZ= or TZ= prefix: set spec.timeZone instead');
    expectProblem(cron('spec.schedule', '0 0 L * *'), 'spec.schedule', 'the day-of-month field "L" has a character other than');
    expectProblem(cron('spec.schedule', '0 0 * * 7'), 'spec.schedule', 'day-of-week 7 is above 6');
    expectProblem(cron('spec.schedule', 'every day'), 'spec.schedule', 'must be a cron schedule with 5 fields');
    expectProblem(cron('spec.schedule', '*/10 * * * * *'), 'spec.schedule', 'must be a cron schedule with 5 fields');
    expectProblem(cron('spec.schedule', '@reboot'), 'spec.schedule', 'or a macro such as "@hourly"');
    expectProblem(cron('spec.schedule', undefined), 'spec.schedule', 'required');
  });

  test('common schedules and macros are accepted', () => {
    for (const s of ['*/5 * * * *', '0 3 * * 1-5', '30 2 1 * *', '0 0 * * SUN', '@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually', '0 0 1 JAN *', '0 0 ? * MON-FRI', '*/15 8-18 * * 1,3,5']) {
      assert.equal(cronScheduleRule(s), undefined, s);
    }
  });

  test('the time zone must be an IANA name', () => {
    expectProblem(cron('spec.timeZone', 'Mars/Olympus'), 'spec.timeZone', 'must be an IANA time zone name such as "Europe/Berlin" or "UTC": current value is "Mars/Olympus"');
    expectValid(cron('spec.timeZone', 'Europe/Berlin'));
  });

  test('concurrencyPolicy is Allow, Forbid or Replace', () => {
    expectProblem(cron('spec.concurrencyPolicy', 'Queue'), 'spec.concurrencyPolicy', 'must be one of "Allow", "Forbid", "Replace"');
  });

  test('history limits and the starting deadline are non-negative, suspend a boolean', () => {
    expectProblem(cron('spec.successfulJobsHistoryLimit', -1), 'spec.successfulJobsHistoryLimit', 'must be greater than or equal to 0');
    expectProblem(cron('spec.failedJobsHistoryLimit', -1), 'spec.failedJobsHistoryLimit', 'must be greater than or equal to 0');
    expectProblem(cron('spec.startingDeadlineSeconds', -1), 'spec.startingDeadlineSeconds', 'must be greater than or equal to 0');
    expectProblem(cron('spec.suspend', 1), 'spec.suspend', 'must be a boolean');
  });

  test('the job template follows the Job rules, with the full path', () => {
    const rp = 'spec.jobTemplate.spec.template.spec.restartPolicy';
    expectProblem(cron(rp, 'Always'), rp, 'must be "OnFailure" or "Never" for a Job');
    expectProblem(cron('spec.jobTemplate.spec.template.spec.containers[0].name', 'Backup'), 'spec.jobTemplate.spec.template.spec.containers[0].name', 'RFC 1123 label');
    expectProblem(cron('spec.jobTemplate.spec.parallelizm', 2), 'spec.jobTemplate.spec.parallelizm', 'unknown field "parallelizm"');
  });

  test('a CronJob name leaves room for the Job suffix: at most 52 characters', () => {
    expectProblem(cron('metadata.name', 'a'.repeat(53)), 'metadata.name', 'must be no more than 52 characters');
  });

  test('a CronJob without jobTemplate reports it as required', () => {
    const problems = problemsOf(cron('spec.jobTemplate', undefined));
    assert.deepEqual(problems, [{ path: 'spec.jobTemplate', message: 'required' }]);
  });
});

describe('ReplicaSet', () => {
  const rs = (path: string, value: unknown) => set(fixtures.replicaSet(), path, value);

  test('a valid ReplicaSet passes and replicas defaults to 1', () => {
    expectValid(fixtures.replicaSet());
    const spec = validateObject(rs('spec.replicas', undefined)).spec as { replicas: number };
    assert.equal(spec.replicas, 1);
  });

  test('the selector is required and must match the template labels', () => {
    expectProblem(rs('spec.selector', undefined), 'spec.selector', 'required');
    expectProblem(rs('spec.selector', {}), 'spec.selector', 'must not be empty');
    expectProblem(rs('spec.template.metadata.labels', { app: 'api' }), 'spec.template.metadata.labels', 'must match the selector (app=web)');
  });

  test('replicas and minReadySeconds must not be negative', () => {
    expectProblem(rs('spec.replicas', -1), 'spec.replicas', 'must be greater than or equal to 0');
    expectProblem(rs('spec.minReadySeconds', -5), 'spec.minReadySeconds', 'must be greater than or equal to 0');
    expectValid(rs('spec.replicas', 0));
  });

  test('the template must hold a Pod spec that restarts Always', () => {
    expectProblem(rs('spec.template.spec.restartPolicy', 'Never'), 'spec.template.spec.restartPolicy', 'must be "Always" for a ReplicaSet');
    expectProblem(rs('spec.template.spec.containers', []), 'spec.template.spec.containers', '');
  });
});
