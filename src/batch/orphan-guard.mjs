// Preloaded (node --import) into every analyze child that batch or a queue worker starts: when
// the parent dies — even by SIGKILL, which gives it no chance to clean up — the child ends too
// instead of running on as an orphan whose result nobody will ever commit.
import { readFileSync } from 'node:fs';

// The spawner names itself: if it died before this module loaded, process.ppid is already init.
const parent = Number(process.env.VSM_FORENSICS_PARENT_PID) || process.ppid;

function parentGone() {
  try {
    // Linux: the live parent pid is field 4 of /proc/self/stat (after the parenthesised name).
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid !== parent;
  } catch {
    try {
      process.kill(parent, 0);
      return false;
    } catch (e) {
      return e.code === 'ESRCH';
    }
  }
}

const check = () => {
  if (parentGone()) process.kill(process.pid, 'SIGKILL');
};
check();
setInterval(check, 500).unref();
