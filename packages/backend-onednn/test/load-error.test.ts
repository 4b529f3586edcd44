import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { defaultAddonPath } from '../src/native';
import { explainLoadError, isOnednnAvailable, ONEDNN_BACKEND_NAME, onednnInfo, onednnLoadError, tryLoadAddon } from '../src/index';

describe('loading the addon', () => {
  it('loads here (CI installs libdnnl-dev and builds the addon), and reports version, threads and ISA', () => {
    expect(onednnLoadError()?.message).toBeUndefined();
    expect(isOnednnAvailable()).toBe(true);
    const info = onednnInfo();
    expect(ONEDNN_BACKEND_NAME).toBe('onednn');
    expect(info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.threads).toBeGreaterThan(0);
    expect(info.isa).toBeTypeOf('string');
    expect(info.nativeKernels).toContain('Conv2DBackpropFilter');
  });

  it("leaves the OpenMP wait policy to libgomp's default (brief spin, then sleep) and keeps a user's choice", () => {
    const saved = process.env.OMP_WAIT_POLICY;
    try {
      delete process.env.OMP_WAIT_POLICY;
      expect(tryLoadAddon(defaultAddonPath()).addon).toBeDefined();
      expect(process.env.OMP_WAIT_POLICY).toBeUndefined();
      process.env.OMP_WAIT_POLICY = 'passive';
      expect(tryLoadAddon(defaultAddonPath()).addon).toBeDefined();
      expect(process.env.OMP_WAIT_POLICY).toBe('passive');
    } finally {
      if (saved === undefined) delete process.env.OMP_WAIT_POLICY;
      else process.env.OMP_WAIT_POLICY = saved;
    }
  });

  it('explains a missing addon: names the file and the build commands, without throwing', () => {
    const r = tryLoadAddon('/nonexistent/build/Release/onednn.node');
    expect(r.addon).toBeUndefined();
    expect(r.error!.message).toContain('/nonexistent/build/Release/onednn.node');
    expect(r.error!.message).toContain('not built');
    expect(r.error!.message).toContain('apt-get install -y libdnnl-dev');
    expect(r.error!.message).toContain('npm run build:native -w @lm/backend-onednn');
  });

  it('explains a missing libdnnl.so.2 (as dlopen reports it)', () => {
    const cause = new Error('libdnnl.so.2: cannot open shared object file: No such file or directory');
    // An existing path, so the message is about the library rather than the addon file.
    const e = explainLoadError(new URL(import.meta.url).pathname, cause);
    expect(e.message).toContain('libdnnl.so.2');
    expect(e.message).toContain('apt-get install -y libdnnl');
  });

  it('explains a real dlopen failure of a missing shared library (addon patched to need libdnnx.so.2)', () => {
    const bytes = readFileSync(defaultAddonPath());
    const from = Buffer.from('libdnnl.so.2');
    const at = bytes.indexOf(from);
    expect(at).toBeGreaterThan(0);
    Buffer.from('libdnnx.so.2').copy(bytes, at);
    const dir = mkdtempSync(join(tmpdir(), 'onednn-load-'));
    try {
      const path = join(dir, 'onednn.node');
      writeFileSync(path, bytes);
      const r = tryLoadAddon(path);
      expect(r.addon).toBeUndefined();
      expect(r.error!.message).toContain('libdnnx.so.2');
      expect(r.error!.message).toContain(path);
      expect(r.error!.message).toContain('apt-get install -y libdnnl-dev');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
