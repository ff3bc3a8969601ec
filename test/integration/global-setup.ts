// Makes `npm run test:integration` one command: if the Keystone + Nova lab is
// not answering, start it (test/lab/start.sh) and stop it again afterwards.
// A lab that was already running (e.g. `npm run lab:start`) is left running.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const LAB_DIR = process.env.FORCE_DOWN_LAB_DIR ?? '/tmp/force-down-lab';
const root = join(import.meta.dirname, '..', '..');

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.status < 500;
  } catch {
    return false;
  }
}

async function labIsUp(): Promise<boolean> {
  const file = join(LAB_DIR, 'lab.json');
  if (!existsSync(file)) return false;
  const lab = JSON.parse(readFileSync(file, 'utf8')) as { keystone: string; nova: string };
  return (await answers(lab.keystone)) && (await answers(`${lab.nova}/`));
}

export default async function setup(): Promise<(() => void) | undefined> {
  if (await labIsUp()) return undefined;
  // install.sh is idempotent and knows the full package list; any missing binary means run it.
  if (['/usr/bin/keystone-manage', '/usr/bin/nova-manage', '/usr/bin/memcached'].some((bin) => !existsSync(bin))) {
    console.log('[lab] installing Debian\'s Keystone and Nova packages (test/lab/install.sh, needs root)');
    execFileSync('bash', [join(root, 'test/lab/install.sh')], { stdio: 'inherit' });
  }
  console.log(`[lab] not running at ${LAB_DIR}: starting it (test/lab/start.sh)`);
  execFileSync('bash', [join(root, 'test/lab/start.sh')], { stdio: 'inherit' });
  return () => {
    if (process.env.FORCE_DOWN_KEEP_LAB) return;
    execFileSync('bash', [join(root, 'test/lab/stop.sh')], { stdio: 'inherit' });
  };
}
