/* margay/sim_program.h — the one build step that lets an unmodified PDPIX program run
 * inside margay's deterministic simulator (`margay sim`).
 *
 * Compile the program's sources with
 *     -include margay/sim_program.h -DMARGAY_SIM_MAIN=<name>_main
 * and register <name>_main with the simulator (see doc/sim.md). This header renames
 * `main`, and points exit() and clock_gettime() at the simulator: exit() ends only the
 * simulated process (its status is checked), and clocks read simulated time, so
 * deadlines a program computes from clock_gettime pass in simulated time too.
 * Everything else — demi_init, demi_socket, demi_wait ... — is plain PDPIX: demi_wait
 * yields to the simulator, which runs the other hosts and advances the clock. */
#ifndef MARGAY_SIM_PROGRAM_H
#define MARGAY_SIM_PROGRAM_H

/* No system headers here: the program's own feature macros (_POSIX_C_SOURCE ...) must
 * still come first. The types below are those of glibc's clockid_t and useconds_t. */
struct timespec;

#ifdef __cplusplus
extern "C" {
#endif

/* Ends the calling simulated process with `status` (outside the simulator: exit()). */
__attribute__((noreturn)) void margay_sim_exit(int status);
/* Simulated time for every clock inside the simulator; the real clock outside. */
int margay_sim_clock_gettime(int clock, struct timespec *ts);
/* Sleeps in simulated time inside the simulator. */
unsigned int margay_sim_sleep(unsigned int seconds);
int margay_sim_usleep(unsigned int usec);
int margay_sim_nanosleep(const struct timespec *req, struct timespec *rem);

#ifdef __cplusplus
}
#endif

#define exit margay_sim_exit
#define clock_gettime margay_sim_clock_gettime
#define sleep margay_sim_sleep
#define usleep margay_sim_usleep
#define nanosleep margay_sim_nanosleep
#ifdef MARGAY_SIM_MAIN
/* The renamed main is registered with the simulator as int (*)(int, char **). */
int MARGAY_SIM_MAIN(int argc, char **argv);
#define main MARGAY_SIM_MAIN
#endif

#endif /* MARGAY_SIM_PROGRAM_H */
