#!/usr/bin/env node
/**
 * Compiler flags of the MPI installation, for binding.gyp: `--include` prints the include folders, `--libs`
 * the linker flags (with an rpath to MPI's library folder). Asks the MPI compiler wrapper (`$MPICC`, else
 * `mpicc`): Open MPI's `--showme:*`, MPICH's `-show`. Prints nothing when there is no wrapper
 * (build-native.mjs has already explained that).
 */
import { spawnSync } from 'node:child_process';

const mpicc = process.env.MPICC || 'mpicc';
const run = (args) => {
  const r = spawnSync(mpicc, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

function flags() {
  const inc = run(['--showme:incdirs']);
  const libdirs = run(['--showme:libdirs']);
  const libs = run(['--showme:libs']);
  if (inc !== undefined && libs !== undefined) {
    const dirs = (libdirs ?? '').split(/\s+/).filter(Boolean);
    return {
      include: inc.split(/\s+/).filter(Boolean),
      libs: [...dirs.flatMap((d) => [`-L${d}`, `-Wl,-rpath,${d}`]), ...libs.split(/\s+/).filter(Boolean).map((l) => `-l${l}`)],
    };
  }
  const show = run(['-show']); // MPICH: "gcc -I... -L... -lmpi"
  if (show !== undefined) {
    const words = show.split(/\s+/);
    const libdirs = words.filter((w) => w.startsWith('-L')).map((w) => w.slice(2));
    return {
      include: words.filter((w) => w.startsWith('-I')).map((w) => w.slice(2)),
      libs: [...libdirs.flatMap((d) => [`-L${d}`, `-Wl,-rpath,${d}`]), ...words.filter((w) => w.startsWith('-l') || w.startsWith('-Wl,'))],
    };
  }
  return { include: [], libs: [] };
}

const f = flags();
process.stdout.write(`${(process.argv.includes('--libs') ? f.libs : f.include).join(' ')}\n`);
