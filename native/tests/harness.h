/* zdtm-style test harness: the test program sets up state, calls
 * harness_init(), and then runs; `kill -SIGRTMAX-2 PID` (signal 62) makes the
 * harness take an image into $CKPT_DIR/ckpt-N.img from the signal handler,
 * like libdurun.so will. The program checks its own state as it goes and
 * prints PASS/FAIL. */
#ifndef DURUN_TEST_HARNESS_H
#define DURUN_TEST_HARNESS_H

/* Value reported in the harness's "dumped"/"restored" lines. */
extern volatile long harness_counter;
/* Set once this process resumed from an image (the handler returned RESTORED). */
extern volatile int harness_restored;
void harness_init(void);
/* Async-signal-safe printf-lite to fd: %d/%ld/%s only. */
void hprint(int fd, const char *fmt, ...);

#endif
