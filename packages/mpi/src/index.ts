export type { Communicator, InitOptions, NumericArray, ReduceOp } from './communicator';
export { initMpi, isMpiAvailable, mpiInfo, mpiLoadError } from './communicator';
export { MpiPeerError, MpiTimeoutError, MpiUnavailableError } from './errors';
export type { LaunchInfo } from './launcher';
export { findMpirun, launchInfo, localMpirunArgs } from './launcher';
