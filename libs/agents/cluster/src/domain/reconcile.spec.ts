/** What the reconciler does next from each state, including resuming after a crash mid-step. */
import { describe, expect, it } from '@jest/globals';
import { ClusterState } from '@outpost/contracts';
import { initialMachine, type ClusterMachine } from './cluster-machine.js';
import type { ClusterSpec, DesiredState } from './cluster-spec.js';
import { nextAction } from './reconcile.js';

const k3s: ClusterSpec = { distribution: 'k3s', role: 'agent', joinUrl: 'https://a:6443', tokenRef: 't' };
const k3sMoved: ClusterSpec = { ...k3s, joinUrl: 'https://b:6443' };
const rke2: ClusterSpec = { distribution: 'rke2', role: 'server', joinUrl: '', tokenRef: '' };
const present = (spec: ClusterSpec): DesiredState => ({ presence: 'present', spec });
const absent: DesiredState = { presence: 'absent' };
const m = (state: ClusterState, extra: Partial<ClusterMachine>): ClusterMachine => ({
  ...initialMachine(0),
  state,
  ...extra,
});
const { INACTIVE, INSTALLING, ACTIVE, UNINSTALLING, ERROR } = ClusterState;

describe('nextAction', () => {
  it.each<[string, ClusterMachine, ReturnType<typeof nextAction>]>([
    ['nothing without a desired state', m(INACTIVE, {}), { kind: 'none' }],
    ['nothing when absent and inactive', m(INACTIVE, { desired: absent }), { kind: 'none' }],
    [
      'install when present and inactive',
      m(INACTIVE, { desired: present(k3s) }),
      { kind: 'install', spec: k3s, resume: false },
    ],
    [
      'nothing when active as desired',
      m(ACTIVE, { desired: present(k3s), installed: k3s }),
      { kind: 'none' },
    ],
    [
      'uninstall when absent',
      m(ACTIVE, { desired: absent, installed: k3s }),
      { kind: 'uninstall', spec: k3s, resume: false },
    ],
    [
      'reinstall when parameters change',
      m(ACTIVE, { desired: present(k3sMoved), installed: k3s }),
      { kind: 'install', spec: k3sMoved, resume: false },
    ],
    [
      'uninstall the old distribution first',
      m(ACTIVE, { desired: present(rke2), installed: k3s }),
      { kind: 'uninstall', spec: k3s, resume: false },
    ],
    [
      'resume an install after a crash',
      m(INSTALLING, { target: k3s, installed: k3s, desired: absent }),
      { kind: 'install', spec: k3s, resume: true },
    ],
    [
      'resume an uninstall after a crash',
      m(UNINSTALLING, { target: k3s, installed: k3s, desired: absent }),
      { kind: 'uninstall', spec: k3s, resume: true },
    ],
    [
      'wait for the retry time',
      m(ERROR, { desired: present(k3s), installed: k3s, target: k3s, nextRetryAt: 2_000 }),
      { kind: 'wait', until: 2_000 },
    ],
    [
      'retry the install when due',
      m(ERROR, { desired: present(k3s), installed: k3s, target: k3s, nextRetryAt: 500 }),
      { kind: 'install', spec: k3s, resume: false },
    ],
    [
      'uninstall from ERROR when now absent',
      m(ERROR, { desired: absent, installed: k3s, target: k3s, nextRetryAt: 500 }),
      { kind: 'uninstall', spec: k3s, resume: false },
    ],
    [
      'uninstall the other distribution from ERROR',
      m(ERROR, { desired: present(rke2), installed: k3s, target: k3s }),
      { kind: 'uninstall', spec: k3s, resume: false },
    ],
  ])('%s', (_name, machine, action) => {
    expect(nextAction(machine, 1_000)).toEqual(action);
  });

  it('retries at once when asked, whatever the backoff says', () => {
    const machine = m(ERROR, { desired: present(k3s), installed: k3s, target: k3s, nextRetryAt: 99_999 });
    expect(nextAction(machine, 1_000, true)).toEqual({ kind: 'install', spec: k3s, resume: false });
  });
});
