// The process tree renderers share: PPIDs come from the evidence, so cycles, self-parents and
// reused PIDs must neither loop nor drop a process.
import test from 'ava';
import { parentIndexes, processTree } from '../src/reports/tree.ts';
import { proc } from './reports-fixtures.ts';

test('every process appears exactly once, whatever the parent links say', (t) => {
  const ps = [
    proc({ pid: 4, ppid: 0, name: 'System', created: '2024-01-01T00:00:00Z' }),
    proc({ pid: 100, ppid: 200, name: 'a.exe', created: '2024-01-01T00:00:05Z' }), // cycle a <-> b (same times allow it)
    proc({ pid: 200, ppid: 100, name: 'b.exe', created: '2024-01-01T00:00:05Z' }),
    proc({ pid: 300, ppid: 300, name: 'self.exe', created: '2024-01-01T00:00:06Z' }),
    proc({ pid: 400, ppid: 4, name: 'child.exe', created: '2024-01-01T00:00:07Z' }),
    proc({ pid: 500, ppid: 999, name: 'orphan.exe', created: null }),
  ];
  const rows = processTree(ps);
  t.is(rows.length, ps.length);
  t.deepEqual(new Set(rows.map((r) => r.index)).size, ps.length);
  t.is(rows.find((r) => r.process.pid === 400)!.depth, 1);
  t.is(rows.find((r) => r.process.pid === 300)!.parent, -1, 'a process is never its own parent');
});

test('a reused PID is not the parent of a process created before it', (t) => {
  const ps = [
    proc({ pid: 700, ppid: 4, name: 'old-parent.exe', created: '2024-01-01T00:00:01Z', exited: '2024-01-01T00:00:02Z' }),
    proc({ pid: 800, ppid: 700, name: 'child.exe', created: '2024-01-01T00:00:01.5Z' }),
    proc({ pid: 700, ppid: 4, name: 'new-700.exe', created: '2024-01-01T00:00:09Z' }),
  ];
  const parents = parentIndexes(ps);
  t.is(parents[1], 0, 'the child belongs to the PID-700 process that existed when it was created');
});

test('a long parent chain does not overflow the stack', (t) => {
  const ps = Array.from({ length: 20000 }, (_, i) => proc({ pid: 8 + i * 4, ppid: 4 + i * 4, name: 'x.exe', created: '2024-01-01T00:00:00Z' }));
  const rows = processTree(ps);
  t.is(rows.length, ps.length);
  t.is(Math.max(...rows.map((r) => r.depth)), 64, 'depth is capped for display');
});
