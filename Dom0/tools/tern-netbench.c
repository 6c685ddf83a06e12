/*
 * tern-netbench: iperf3's TCP test, the figures `make bench` compares
 * between Dom0's network path and a guest's (docs/results.md, "Network"),
 * in one static binary that runs the same in Dom0, in a Linux guest and on
 * the host (the server end).
 *
 *   tern-netbench server PORT [ADDRESS]   serve tests one after the other
 *                                         (ADDRESS: 127.0.0.1 by default)
 *   tern-netbench send HOST PORT SECONDS [STREAMS]
 *                                         this end sends, the server receives
 *   tern-netbench recv HOST PORT SECONDS [STREAMS]
 *                                         the server sends, this end receives
 *                                         (iperf3 -R)
 *   STREAMS (iperf3 -P, 1-8): that many connections at once, stream i to a
 *   server at PORT + i; "send4: ..." gives their bytes over the longest's
 *   time (iperf3's SUM line).
 *
 * The method is iperf3's: one TCP connection; the sender writes 128 KiB
 * buffers (iperf3's TCP default) for SECONDS, then ends its stream; the
 * figure is the bytes the receiver got, over the time from the test's
 * start (the server reading the client's header) to the receiver having
 * them all, as iperf3's "receiver" line. One difference: that time is
 * always the server's clock, in both directions (a guest's clock under
 * QEMU's TCG can run 10% off the host's; the server is on the host).
 *
 * The client first writes a 12-byte header: "TNB1", the test ('s': the
 * client sends; 'r': the server sends; 'q': the figures of the last 'r'
 * test) and 3 bytes of padding, SECONDS (32 bits, big-endian). A send test
 * ends with the server answering the end of the stream with what it
 * received; in a recv test the client closes once it has read the server's
 * end of stream, and the server takes that close as the test's end; the
 * client then asks for the server's figures by a second connection ('q').
 * Figures are bytes and microseconds, 64 bits each, big-endian.
 *
 * The client prints one line, "send: 123.4 Mbit/s (154321000 bytes in
 * 10.00 s)" (or recv:); Mbit is 10^6 bits, as iperf3's. The server prints
 * a line per test, with the peer's address.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUFFER_SIZE   (128u << 10)
#define HEADER_SIZE   12
#define RESULT_SIZE   16
#define TIMEOUT_SLACK 30        /* s a peer may stay silent beyond the test's length */
#define MAX_STREAMS   8         /* parallel connections (iperf3 -P) at most */

static char buffer[BUFFER_SIZE];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

/* All of `length` bytes, or -1 (error, timeout or end of stream first). */
static int read_all(int fd, void *data, size_t length)
{
    for (size_t got = 0; got < length;) {
        ssize_t n = read(fd, (char *)data + got, length - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t length)
{
    for (size_t put = 0; put < length;) {
        ssize_t n = write(fd, (const char *)data + put, length - put);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        put += (size_t)n;
    }
    return 0;
}

static void set_timeouts(int fd, unsigned seconds)
{
    struct timeval t = { .tv_sec = seconds + TIMEOUT_SLACK };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
}

/* Sends 128 KiB buffers for `seconds`, then ends the stream (the write
 * side: the peer may still answer). Returns the bytes sent, -1 on an
 * error. */
static int64_t send_for(int fd, unsigned seconds)
{
    double end = now() + seconds;
    int64_t total = 0;
    for (; now() < end; total += sizeof buffer)
        if (write_all(fd, buffer, sizeof buffer) < 0) return -1;
    return shutdown(fd, SHUT_WR) < 0 ? -1 : total;
}

/* Reads and discards up to the end of the stream: bytes received, and
 * the seconds from `start` to that end in *elapsed; -1 on an error. */
static int64_t receive_all(int fd, double start, double *elapsed)
{
    int64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        total += n;
    }
    *elapsed = now() - start;
    return total;
}

static void report(const char *what, int64_t bytes, double seconds)
{
    printf("%s: %.1f Mbit/s (%lld bytes in %.2f s)\n", what,
           seconds > 0 ? bytes * 8 / seconds / 1e6 : 0.0, (long long)bytes, seconds);
    fflush(stdout);
}

static int parse_address(const char *host, const char *port, struct sockaddr_in *address)
{
    memset(address, 0, sizeof *address);
    address->sin_family = AF_INET;
    address->sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, host, &address->sin_addr) != 1) {
        fprintf(stderr, "tern-netbench: %s: not an IPv4 address\n", host);
        return -1;
    }
    return 0;
}

static void put_figures(unsigned char *result, int64_t bytes, double seconds)
{
    put64(result, (uint64_t)bytes);
    put64(result + 8, (uint64_t)(seconds * 1e6));
}

/* One test on an accepted connection. `last` holds the figures of the
 * last recv test (bytes, microseconds) for the client's question. */
static void serve(int fd, const char *peer, unsigned char last[RESULT_SIZE])
{
    unsigned char header[HEADER_SIZE], result[RESULT_SIZE];
    set_timeouts(fd, 0);
    if (read_all(fd, header, sizeof header) < 0 || memcmp(header, "TNB1", 4) != 0) {
        fprintf(stderr, "tern-netbench: %s: no test header\n", peer);
        return;
    }
    unsigned seconds = (unsigned)header[8] << 24 | header[9] << 16 | header[10] << 8 | header[11];
    set_timeouts(fd, seconds);
    double start = now(), elapsed;
    if (header[4] == 's') {
        int64_t bytes = receive_all(fd, start, &elapsed);
        if (bytes < 0) {
            fprintf(stderr, "tern-netbench: %s: receiving: %s\n", peer, strerror(errno));
            return;
        }
        put_figures(result, bytes, elapsed);
        if (write_all(fd, result, sizeof result) < 0)
            fprintf(stderr, "tern-netbench: %s: answering: %s\n", peer, strerror(errno));
        printf("server: received from %s: ", peer);
        report("send", bytes, elapsed);
    } else if (header[4] == 'r') {
        memset(last, 0, RESULT_SIZE);
        int64_t bytes = send_for(fd, seconds);
        if (bytes < 0) {
            fprintf(stderr, "tern-netbench: %s: sending: %s\n", peer, strerror(errno));
            return;
        }
        /* The client closes once it has read all: the test's end. */
        if (receive_all(fd, start, &elapsed) < 0) {
            fprintf(stderr, "tern-netbench: %s: waiting for the end: %s\n", peer, strerror(errno));
            return;
        }
        put_figures(last, bytes, elapsed);
        printf("server: sent to %s: ", peer);
        report("recv", bytes, elapsed);
    } else if (header[4] == 'q') {
        if (write_all(fd, last, RESULT_SIZE) < 0)
            fprintf(stderr, "tern-netbench: %s: answering: %s\n", peer, strerror(errno));
    } else {
        fprintf(stderr, "tern-netbench: %s: unknown test %c\n", peer, header[4]);
    }
}

static int server(const char *port, const char *host)
{
    struct sockaddr_in address;
    if (parse_address(host, port, &address) < 0) return 2;
    int listener = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4) < 0) {
        fprintf(stderr, "tern-netbench: %s:%s: %s\n", host, port, strerror(errno));
        return 1;
    }
    printf("server: listening on %s:%s\n", host, port);
    fflush(stdout);
    unsigned char last[RESULT_SIZE] = { 0 };
    for (;;) {
        struct sockaddr_in from;
        socklen_t length = sizeof from;
        int fd = accept(listener, (struct sockaddr *)&from, &length);
        if (fd < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "tern-netbench: accept: %s\n", strerror(errno));
            return 1;
        }
        char peer[32];
        snprintf(peer, sizeof peer, "%s:%u", inet_ntoa(from.sin_addr), ntohs(from.sin_port));
        serve(fd, peer, last);
        close(fd);
    }
}

/* A connection to the server with the test's header written, or -1. */
static int start_test(const struct sockaddr_in *address, char test, int seconds)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    set_timeouts(fd, (unsigned)seconds);
    if (connect(fd, (const struct sockaddr *)address, sizeof *address) < 0) {
        fprintf(stderr, "tern-netbench: connect %s:%u: %s\n", inet_ntoa(address->sin_addr), ntohs(address->sin_port),
                strerror(errno));
        close(fd);
        return -1;
    }
    unsigned char header[HEADER_SIZE] = { 'T', 'N', 'B', '1', (unsigned char)test, 0, 0, 0,
        (unsigned char)(seconds >> 24), (unsigned char)(seconds >> 16), (unsigned char)(seconds >> 8), (unsigned char)seconds };
    if (write_all(fd, header, sizeof header) < 0) {
        fprintf(stderr, "tern-netbench: sending the header: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* One test on one connection to `address`: the receiver's bytes and the
 * server's seconds; 0, or 1 with a line on stderr. */
static int one_test(int sending, const struct sockaddr_in *address, int seconds, int64_t *bytes, double *taken)
{
    unsigned char result[RESULT_SIZE];
    int fd = start_test(address, sending ? 's' : 'r', seconds);
    if (fd < 0) return 1;
    if (sending) {
        errno = 0;
        if (send_for(fd, (unsigned)seconds) < 0 || read_all(fd, result, sizeof result) < 0) {
            fprintf(stderr, "tern-netbench: send: %s\n", errno ? strerror(errno) : "no figures from the server");
            return 1;
        }
        close(fd);
        *bytes = (int64_t)get64(result);
        *taken = get64(result + 8) / 1e6;
        return 0;
    }
    double elapsed;
    *bytes = receive_all(fd, now(), &elapsed);
    close(fd);
    if (*bytes < 0) {
        fprintf(stderr, "tern-netbench: recv: %s\n", strerror(errno));
        return 1;
    }
    /* The time is the server's: ask for it. */
    errno = 0;
    fd = start_test(address, 'q', seconds);
    if (fd < 0 || read_all(fd, result, sizeof result) < 0) {
        fprintf(stderr, "tern-netbench: recv: %s\n", errno ? strerror(errno) : "no figures from the server");
        return 1;
    }
    close(fd);
    if ((int64_t)get64(result) != *bytes) {
        fprintf(stderr, "tern-netbench: recv: the server sent %llu bytes, %lld came\n",
                (unsigned long long)get64(result), (long long)*bytes);
        return 1;
    }
    *taken = get64(result + 8) / 1e6;
    return 0;
}

/* STREAMS tests at once (iperf3 -P), stream i to the server at PORT + i:
 * each in a child, which writes its figures to a pipe; the figure is all
 * their bytes over the longest one's time (iperf3's SUM line). */
static int client(int sending, const char *host, const char *port, const char *duration, const char *count)
{
    struct sockaddr_in address;
    int seconds = atoi(duration), streams = count ? atoi(count) : 1, failed = 0, fds[2];
    if (seconds <= 0 || streams < 1 || streams > MAX_STREAMS) {
        fprintf(stderr, "tern-netbench: bad SECONDS %s or STREAMS %s (1-%d)\n", duration, count ? count : "1", MAX_STREAMS);
        return 2;
    }
    if (parse_address(host, port, &address) < 0) return 2;
    int64_t bytes, total = 0;
    double taken, longest = 0;
    if (streams == 1) {
        if (one_test(sending, &address, seconds, &bytes, &taken)) return 1;
        report(sending ? "send" : "recv", bytes, taken);
        return 0;
    }
    if (pipe(fds) < 0) {
        fprintf(stderr, "tern-netbench: pipe: %s\n", strerror(errno));
        return 1;
    }
    for (int i = 0; i < streams; i++) {
        struct sockaddr_in one = address;
        one.sin_port = htons((uint16_t)(ntohs(address.sin_port) + i));
        pid_t child = fork();
        if (child < 0) {
            fprintf(stderr, "tern-netbench: fork: %s\n", strerror(errno));
            return 1;
        }
        if (child == 0) {
            unsigned char result[RESULT_SIZE] = { 0 };
            close(fds[0]);
            if (one_test(sending, &one, seconds, &bytes, &taken) == 0) put_figures(result, bytes, taken);
            _exit(write_all(fds[1], result, sizeof result) < 0);
        }
    }
    close(fds[1]);
    for (int i = 0; i < streams; i++) {
        unsigned char result[RESULT_SIZE];
        if (read_all(fds[0], result, sizeof result) < 0 || get64(result + 8) == 0) {
            failed++;
            continue;
        }
        total += (int64_t)get64(result);
        if (get64(result + 8) / 1e6 > longest) longest = get64(result + 8) / 1e6;
    }
    while (wait(NULL) > 0) {}
    if (failed) {
        fprintf(stderr, "tern-netbench: %d of %d streams failed\n", failed, streams);
        return 1;
    }
    char what[16];
    snprintf(what, sizeof what, "%s%d", sending ? "send" : "recv", streams);
    report(what, total, longest);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);   /* a peer gone is an error return, not death */
    memset(buffer, 0xA5, sizeof buffer);
    if (argc >= 3 && argc <= 4 && strcmp(argv[1], "server") == 0)
        return server(argv[2], argc == 4 ? argv[3] : "127.0.0.1");
    if ((argc == 5 || argc == 6) && (strcmp(argv[1], "send") == 0 || strcmp(argv[1], "recv") == 0))
        return client(argv[1][0] == 's', argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
    fprintf(stderr, "usage: %s server PORT [ADDRESS] | send HOST PORT SECONDS [STREAMS] | recv HOST PORT SECONDS [STREAMS]\n",
            argv[0]);
    return 2;
}
