import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What the lock file holds: enough to name the run that has it. */
export interface LockHolder {
  pid: number;
  runId: string;
  command: string;
  host: string;
  startedAt: string;
}

/** Another live run holds the warehouse: the CLI exits with EXIT.locked. */
export class RunLockedError extends Error {
  override name = 'RunLockedError';
  constructor(
    readonly holder: LockHolder,
    lockPath: string,
  ) {
    super(
      `another run holds the warehouse lock: run ${holder.runId} (${holder.command}, pid ${holder.pid} on ${holder.host}) since ${holder.startedAt}; lock file ${lockPath}. Wait for it, or pass --wait <seconds>.`,
    );
  }
}

export interface RunLock {
  path: string;
  holder: LockHolder;
  /** Runs whose lock was taken over because their process had died (crashed or killed). */
  staleHolder: LockHolder | null;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(lockPath: string): LockHolder | null {
  try {
    return JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockHolder;
  } catch {
    return null; // gone, or half-written by a process killed while writing it
  }
}

/**
 * Takes the warehouse's run lock (O_EXCL create of a file holding our pid). A lock whose process
 * is dead (kill -9, crash, reboot on the same host) is taken over; a live one makes us wait up to
 * waitSeconds, then throws RunLockedError.
 */
export async function acquireRunLock(
  lockPath: string,
  who: { runId: string; command: string },
  options: { waitSeconds?: number; pollMs?: number } = {},
): Promise<RunLock> {
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const holder: LockHolder = {
    pid: process.pid,
    runId: who.runId,
    command: who.command,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
  };
  const deadline = Date.now() + (options.waitSeconds ?? 0) * 1000;
  let staleHolder: LockHolder | null = null;
  for (;;) {
    try {
      const fd = fs.openSync(lockPath, 'wx');
      fs.writeSync(fd, JSON.stringify(holder));
      fs.closeSync(fd);
      return {
        path: lockPath,
        holder,
        staleHolder,
        release() {
          // Only remove the lock if it is still ours (never someone else's after a takeover).
          if (readHolder(lockPath)?.runId === holder.runId) fs.rmSync(lockPath, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = readHolder(lockPath);
    const dead =
      current === null
        ? Date.now() - (fs.statSync(lockPath, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 5_000 // unreadable and old
        : current.host === os.hostname() && !isAlive(current.pid);
    if (dead) {
      staleHolder = current ?? staleHolder;
      // Rename before deleting so two processes taking over the same stale lock cannot both win:
      // only one rename of the stale file succeeds.
      const aside = `${lockPath}.stale-${process.pid}`;
      try {
        fs.renameSync(lockPath, aside);
        const moved = readHolder(aside);
        // Between our read and our rename another process may have taken over and written a live
        // lock: put that one back (link fails if yet another lock appeared meanwhile).
        if (moved && current && moved.runId !== current.runId) fs.linkSync(aside, lockPath);
        fs.rmSync(aside, { force: true });
      } catch {
        fs.rmSync(aside, { force: true });
        // someone else took it over first: loop and look again
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new RunLockedError(
        current ?? { pid: -1, runId: 'unknown', command: 'unknown', host: 'unknown', startedAt: 'unknown' },
        lockPath,
      );
    }
    await sleep(options.pollMs ?? 500);
  }
}
