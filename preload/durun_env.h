/* Names shared by every C part of durun: environment variables, the socket
 * name and protocol version. The TypeScript side mirrors them in
 * supervisor/src/protocol/names.ts; change both together. */
#ifndef DURUN_ENV_H
#define DURUN_ENV_H

#define DURUN_PROTOCOL_VERSION 1

#define DURUN_ENV_HOME       "DURUN_HOME"       /* state directory */
#define DURUN_ENV_SOCK       "DURUN_SOCK"       /* supervisor socket path */
#define DURUN_ENV_GROUP      "DURUN_GROUP"      /* application group name */
#define DURUN_ENV_PROGRAM    "DURUN_PROGRAM"    /* program id inside the group */
#define DURUN_ENV_INSTANCE   "DURUN_INSTANCE"   /* instance (restart) number */
#define DURUN_ENV_EXEC_COUNT "DURUN_EXEC_COUNT" /* execs since the program's root started */
#define DURUN_ENV_LIB        "DURUN_LIB"        /* absolute path of libdurun.so */
#define DURUN_ENV_SIGNAL     "DURUN_SIGNAL"     /* call-home signal number */
#define DURUN_ENV_LAZY       "DURUN_LAZY"       /* this image was announced by its exec: register only when needed */
#define DURUN_ENV_FAULT      "DURUN_FAULT"      /* fault injection (tests only) */

#define DURUN_SOCK_NAME      "supervisor.sock"
#define DURUN_MSG_MAX        65536               /* one JSON line, newline included */

/* Default call-home signal: SIGRTMAX-3 (glibc keeps the first RT signals). */
#define DURUN_DEFAULT_SIGNAL_FROM_RTMAX 3

/* The interceptor moves its link to the lowest free fd at or above this, so it
 * never takes a low number a program expects to get from open(). */
#define DURUN_LINK_FD_MIN    900

#endif
