/*
 * memhog MIB: map MIB MiB of anonymous memory, write to every page so it is
 * really charged to the cgroup, print "holding N MiB", then sleep (pause()-style, via sigsuspend)
 * until a signal arrives. SIGTERM/SIGINT exit cleanly (status 0).
 *
 * Built with `gcc -static -O2` by scripts/build-test-image.sh into /bin/memhog
 * of the kuke-tui test image (which has no libc of its own).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: memhog MIB\n");
        return 2;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long mib = strtoull(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0') {
        fprintf(stderr, "memhog: bad size: %s\n", argv[1]);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* Block the stop signals outside sigsuspend() so one arriving between the
     * check of `stop` and the wait cannot be lost (a bare pause() could be). */
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);

    size_t len = (size_t)mib << 20;
    if (len > 0) {
        unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("memhog: mmap");
            return 1;
        }
        long page = sysconf(_SC_PAGESIZE);
        if (page <= 0)
            page = 4096;
        for (size_t off = 0; off < len; off += (size_t)page)
            p[off] = (unsigned char)(off >> 12 | 1);
    }

    printf("holding %llu MiB\n", mib);
    fflush(stdout);

    while (!stop)
        sigsuspend(&waitmask); /* pause() with the stop signals unblocked */
    return 0;
}
