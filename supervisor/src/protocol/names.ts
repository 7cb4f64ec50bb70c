// Names shared with the C parts (preload/durun_env.h); change both together.

export const PROTOCOL_VERSION = 1;
export const MSG_MAX = 65536;
export const SOCK_NAME = 'supervisor.sock';

export const ENV = {
  home: 'DURUN_HOME',
  sock: 'DURUN_SOCK',
  group: 'DURUN_GROUP',
  program: 'DURUN_PROGRAM',
  instance: 'DURUN_INSTANCE',
  execCount: 'DURUN_EXEC_COUNT',
  lib: 'DURUN_LIB',
  signal: 'DURUN_SIGNAL',
  fault: 'DURUN_FAULT',
} as const;
