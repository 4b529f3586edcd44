/**
 * The Node-only part of `@lm/core-blocks` (`import ... from '@lm/core-blocks/node'`): model files on disk and
 * plugin loading by path or package name. The main entry stays free of Node built-ins so it bundles for browsers.
 *
 * @packageDocumentation
 */
export { loadPlugin, PluginLoadError } from './plugin';
export type { LmPlugin } from './plugin';
export { writeFileAtomic } from './io/atomic-write';
export { saveModel, loadModel, readModelArtifacts, modelToArtifacts, ModelFileError } from './io/model-files';
