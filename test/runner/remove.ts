import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Remove a folder whole, read-only folders in it included (which a user other than root cannot empty as they are). */
export function removeAll(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    const open = (p: string): void => {
      try {
        chmodSync(p, 0o755);
        for (const e of readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) open(join(p, e.name));
      } catch {
        // gone already, or not ours to open
      }
    };
    open(dir);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // left for npm test's check of what a run leaves to name
    }
  }
}
