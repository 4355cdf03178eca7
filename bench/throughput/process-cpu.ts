/** CPU time of a process and all its descendants, from /proc (Linux), for CPU-per-message figures. */
import { readdirSync, readFileSync } from 'node:fs';

/** getconf CLK_TCK on Linux: /proc reports CPU time in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in ticks. */
  ticks: number;
}

function readStat(pid: string): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": comm may hold spaces, so split after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // state ppid … utime (field 14) stime (field 15): indexes 1, 11 and 12 here.
    return { pid: Number(pid), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * CPU milliseconds (user + system) used so far by `rootPid` and every live descendant: a wrapper's child
 * (scripts/run-while-parent-lives.mjs runs the real process) counts for its parent. NaN once the root is gone.
 */
export function processTreeCpuMs(rootPid: number): number {
  const stats = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(readStat)
    .filter((stat): stat is ProcStat => stat !== undefined);
  const root = stats.find((stat) => stat.pid === rootPid);
  if (!root) return Number.NaN;
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  let ticks = 0;
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.pop()!;
    ticks += next.ticks;
    queue.push(...(children.get(next.pid) ?? []));
  }
  return (ticks / CLOCK_TICKS_PER_SECOND) * 1000;
}

/** This process's own CPU milliseconds (the load generator and its Temporal client). */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
