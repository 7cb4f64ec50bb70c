/* The durun checkpoint API for programs that know their state
 * (preload/api/README.md): save a value under a key with a logical
 * timestamp, load it back, remove it; the supervisor decides where it goes
 * (policy state.destination: memory, disk, the standby of an active/standby
 * pair, or nowhere) and answers a save once it is stored there. A program of
 * a pair asks its role, or waits for it to change (promotion).
 *
 * Link with -ldurun-state (build/libdurun-state.so). Thread-safe. Works in
 * any process of a group started by durun (it finds the supervisor through
 * DURUN_SOCK or DURUN_HOME, which durun sets); the supervisor identifies the
 * group from the calling process itself. On error, functions return -1, set
 * errno and leave a message for durun_state_error(). */
#ifndef DURUN_STATE_H
#define DURUN_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest value (bytes) and key (bytes of UTF-8, no NUL or newline). */
#define DURUN_STATE_VALUE_MAX (45 * 1024)
#define DURUN_STATE_KEY_MAX 256

/* ts for durun_state_save: one past the key's newest timestamp. */
#define DURUN_STATE_TS_NEXT 0

enum durun_state_role {
	DURUN_ROLE_SOLO = 0,    /* not in a pair: acts as the active */
	DURUN_ROLE_ACTIVE = 1,  /* the active side of its pair */
	DURUN_ROLE_STANDBY = 2, /* the standby: loads see what the active saved; saves are refused */
};

/* Saves len bytes under key with logical timestamp ts (or
 * DURUN_STATE_TS_NEXT). Returns 1 once stored at the destination (or
 * dropped, when it is null), 0 when ignored because the key already holds
 * an equal or later timestamp, -1 on error. */
int durun_state_save(const char *key, const void *data, size_t len, uint64_t ts);

/* Loads key into buf (at most cap bytes); *ts (if not NULL) gets its
 * timestamp. Returns the value's full length (larger than cap: truncated),
 * or -1 with errno ENOENT when the key holds nothing, another errno on
 * error. */
ssize_t durun_state_load(const char *key, void *buf, size_t cap, uint64_t *ts);

/* Removes key. Returns 1 if it held a value, 0 if not, -1 on error. */
int durun_state_remove(const char *key);

/* This program's role now (enum durun_state_role), or -1. */
int durun_state_role(void);

/* Blocks until the role differs from known, then returns the new role (or
 * -1). A standby waits with known = DURUN_ROLE_STANDBY to learn of its
 * promotion. */
int durun_state_wait_role(int known);

/* The last error of this thread, one line. */
const char *durun_state_error(void);

#ifdef __cplusplus
}
#endif
#endif
