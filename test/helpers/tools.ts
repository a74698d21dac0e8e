// External tools (GStreamer, ffmpeg). A test that needs one skips where it is missing, except in CI, where
// KEYCAST_REQUIRE_TOOLS=1 makes it run anyway and fail: no silent skips in CI.
import { spawnSync } from 'node:child_process';

export const TOOLS_REQUIRED = process.env.KEYCAST_REQUIRE_TOOLS === '1';

export function hasTool(command: string, args: readonly string[] = ['--version']): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/** True when a test needing `command` should be skipped here. */
export function skipWithout(command: string, args?: readonly string[]): boolean {
  return !TOOLS_REQUIRED && !hasTool(command, args);
}
